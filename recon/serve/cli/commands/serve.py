"""`recon serve` (the Webex billing-report API over this home) and `recon token`."""

from __future__ import annotations

from typing import Annotated, cast

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.options import open_recon


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0 picks a free one).", min=0, max=65535)
    ] = 8080,
) -> None:
    """Serve the Webex Wholesale Billing Reports API over this home (Ctrl-C stops it).

    The home stays usable while it runs: reading commands, SQL and other writers (in turn).
    """
    from recon.serve.http.server import BASE, make_server, run  # noqa: PLC0415 - not for --help

    rc = open_recon(ctx)
    rc.ensure_home()
    try:
        server, api = make_server(rc, host, port)
    except OSError as exc:
        raise recon.ReconError(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port"
        ) from None
    bound_host, bound_port = cast("tuple[str, int]", server.server_address)
    render.serving(rc.home, f"http://{bound_host}:{bound_port}{BASE}")
    run(server, api)


def token_create(
    ctx: typer.Context,
    scope: Annotated[
        str, typer.Option(help="read (list, get) or write (also create, delete).")
    ] = "read",
    sub_partner: Annotated[
        str | None,
        typer.Option("--sub-partner", help="Limit the token to one sub-partner's reports."),
    ] = None,
    note: Annotated[str, typer.Option(help="A note to remember the token by.")] = "",
    expires: Annotated[
        str | None,
        typer.Option(
            help="When it stops working: a duration (90m, 12h, 30d, 2w) or an ISO 8601 instant."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the token as JSON.")] = False,
) -> None:
    """Create an API token; it is shown once and stored hashed in the home."""
    token, record = open_recon(ctx).create_token(scope, sub_partner, note, expires)
    if as_json:
        render.token_json(token, record)
    else:
        render.token(token, record)


def token_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tokens as JSON.")] = False,
) -> None:
    """List the home's tokens: id, scope, sub-partner, created, expires, revoked, note."""
    records = open_recon(ctx).list_tokens()
    if as_json:
        render.tokens_json(records)
    else:
        render.tokens(records)


def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (`recon token list`).")],
) -> None:
    """Revoke a token: the server refuses it (401) from now on."""
    render.revoked(open_recon(ctx).revoke_token(token_id))


def register(app: typer.Typer) -> None:
    """Add `recon serve` and the `recon token` group."""
    app.command("serve")(serve_command)
    group = typer.Typer(help="Bearer tokens for `recon serve`.", no_args_is_help=True)
    group.command("create")(token_create)
    group.command("list")(token_list)
    group.command("revoke")(token_revoke)
    app.add_typer(group, name="token")

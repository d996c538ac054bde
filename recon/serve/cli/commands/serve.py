"""`recon serve` (the Webex billing-report API over this home) and `recon token create`."""

from __future__ import annotations

from typing import Annotated, cast

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.options import open_recon
from recon.serve.http.server import BASE, make_server, run


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0 picks a free one).", min=0, max=65535)
    ] = 8080,
) -> None:
    """Serve the Webex Wholesale Billing Reports API over this home (Ctrl-C stops it)."""
    with open_recon(ctx).exclusive(wait_seconds=0):
        shared = open_recon(ctx, shared_process=True)
        shared.ensure_home()
        try:
            server, _ = make_server(shared, host, port)
        except OSError as exc:
            raise recon.ReconError(
                f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port"
            ) from None
        bound_host, bound_port = cast("tuple[str, int]", server.server_address)
        render.serving(shared.home, f"http://{bound_host}:{bound_port}{BASE}")
        run(server)


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the token as JSON.")] = False,
) -> None:
    """Create an API token; it is shown once and stored hashed in the home."""
    token, record = open_recon(ctx).create_token(scope, sub_partner, note)
    if as_json:
        render.token_json(token, record)
    else:
        render.token(token, record)


def register(app: typer.Typer) -> None:
    """Add `recon serve` and the `recon token` group."""
    app.command("serve")(serve_command)
    group = typer.Typer(help="Bearer tokens for `recon serve`.", no_args_is_help=True)
    group.command("create")(token_create)
    app.add_typer(group, name="token")

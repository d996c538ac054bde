"""Reports: a request passes down once, request → registry → usage → roll-up → writer."""

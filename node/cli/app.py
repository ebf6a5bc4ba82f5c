"""The ``meritnet`` command."""

from __future__ import annotations

import sys

import typer

from node.cli import demo, deploy, devnet, dispute, faucet, query, reputation, rewards, roles, status, trace
from node.cli.common import err_console, setup_logging
from node.errors import MeritnetError

app = typer.Typer(
    name="meritnet",
    help="meritnet: pay people to train models together without trusting each other.\n\n"
    "Contracts on any EVM chain track stakes, rounds, scores and rewards; run `meritnet demo` to see a round.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(devnet.app, name="devnet")
app.add_typer(query.app, name="query")
app.add_typer(roles.task_app, name="task")
app.add_typer(roles.trainer_app, name="trainer")
app.add_typer(roles.aggregator_app, name="aggregator")
app.add_typer(roles.verifier_app, name="verifier")
app.add_typer(roles.referee_app, name="referee")
app.add_typer(dispute.app, name="dispute")
app.command("deploy")(deploy.deploy)
app.command("faucet")(faucet.faucet_command)
app.command("demo")(demo.demo)
app.command("reputation")(reputation.reputation)
app.command("post-epoch")(reputation.post_epoch_command)
app.command("trace")(trace.trace)
app.command("rewards")(rewards.rewards)
app.command("status")(status.status)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks and debug logs."),
    log_format: str = typer.Option("text", "--log-format", envvar="MERITNET_LOG_FORMAT", help="Logs on stderr as text or json (one object a line). Env: MERITNET_LOG_FORMAT."),
) -> None:
    setup_logging(debug, log_format)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors and exit 1 for expected failures, tracebacks with --debug."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="meritnet")  # usage errors and typer.Exit end in SystemExit
    except MeritnetError as exc:
        if "--debug" in args:
            raise
        err_console.print(f"[bold red]error:[/] {exc.one_line()}", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `syncline` command: init, dev, serve, run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from syncline import __version__
from syncline.cli import client, console, scaffold
from syncline.cli.dashboard import dashboard
from syncline.cli.data import data
from syncline.cli.data_io import export_command, import_command
from syncline.cli.deploy import run_deployment
from syncline.cli.env import env
from syncline.cli.functions import function_spec_command, functions_command
from syncline.cli.history import history
from syncline.cli.logs import logs
from syncline.cli.metrics import metrics
from syncline.cli.scheduled import scheduled
from syncline.server.origins import OriginError, parse_origin
from syncline.server.runtime import run_event_loop
from syncline.storage.sqlite import Durability

DEFAULT_PORT = 3210
DEFAULT_SITE_PORT = 3211


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncline")
def main() -> None:
    """syncline: the reactive backend for Python."""


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Create a new app in DIRECTORY: a schema, functions and a test."""
    try:
        created = scaffold.create_app(directory)
    except scaffold.ScaffoldError as e:
        raise click.ClickException(str(e)) from None
    console.out.print(f"Created a syncline app in [bold]{directory}[/] ({len(created)} files).")
    console.out.print(f"Next: [bold]syncline dev {directory}[/]")


def _origin(name: str, value: str | None, variable: str) -> str | None:
    """A validated public origin. The error names the variable when the value came from
    it (click records where a value came from only after its callbacks run)."""
    if value is None:
        return None
    ctx = click.get_current_context()
    from_env = ctx.get_parameter_source(name) is click.core.ParameterSource.ENVIRONMENT
    try:
        return parse_origin(value, name=variable if from_env else
                            "--" + name.replace("_", "-"))
    except OriginError as e:
        raise click.UsageError(str(e), ctx) from None


def _deployment_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--metrics-public", is_flag=True,
                      help="Serve GET /metrics (Prometheus) without the admin key.")(fn)
    fn = click.option("--site-origin", envvar="CONVEX_SITE_ORIGIN", show_envvar=True,
                      metavar="URL",
                      help="Public origin of the HTTP actions site, as clients reach it "
                           "(e.g. https://site.example.com): CONVEX_SITE_URL. Default: "
                           "the listening address.")(fn)
    fn = click.option("--cloud-origin", envvar="CONVEX_CLOUD_ORIGIN", show_envvar=True,
                      metavar="URL",
                      help="Public origin of the API, as clients reach it (e.g. "
                           "https://api.example.com): file URLs and CONVEX_CLOUD_URL. "
                           "Default: the listening address.")(fn)
    fn = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                      help="Where the database and files live (default: DIR/.syncline).")(fn)
    fn = click.option("--durability", type=click.Choice(["full", "normal"]), default="full",
                      show_default=True,
                      help="full: every commit is on disk before it is acknowledged. "
                           "normal: commits survive a crash of syncline but the last "
                           "ones may be lost if the machine loses power.")(fn)
    fn = click.option("--site-port", type=int, default=DEFAULT_SITE_PORT, show_default=True,
                      help="Port of the HTTP actions site.")(fn)
    fn = click.option("--port", type=int, default=DEFAULT_PORT, show_default=True,
                      help="Port of the API (functions, sync).")(fn)
    fn = click.option("--host", default="127.0.0.1", show_default=True,
                      help="Interface to listen on.")(fn)
    fn = click.argument("directory", type=click.Path(exists=True, file_okay=False,
                                                     path_type=Path), default=".")(fn)
    return fn


def _serve(dev: bool, directory: Path, host: str, port: int, site_port: int,
           data_dir: Path | None, durability: Durability, cloud_origin: str | None,
           site_origin: str | None, metrics_public: bool = False) -> None:
    cloud_origin = _origin("cloud_origin", cloud_origin, "CONVEX_CLOUD_ORIGIN")
    site_origin = _origin("site_origin", site_origin, "CONVEX_SITE_ORIGIN")
    sys.exit(run_event_loop(run_deployment(
        directory, host=host, port=port, site_port=site_port, data_dir=data_dir, dev=dev,
        durability=durability, cloud_origin=cloud_origin, site_origin=site_origin,
        metrics_public=metrics_public)))


@main.command()
@_deployment_options
def dev(**options: object) -> None:
    """Run a local dev deployment of the app in DIRECTORY and push every change live."""
    _serve(True, **options)  # type: ignore[arg-type]


@main.command()
@_deployment_options
def serve(**options: object) -> None:
    """Run a production deployment of the app in DIRECTORY (no reload, errors redacted)."""
    _serve(False, **options)  # type: ignore[arg-type]


@main.command()
@click.argument("function")
@click.argument("args", default="{}")
@click.option("--url", envvar=["SYNCLINE_URL", "CONVEX_URL"],
              help="Deployment URL (default: the one `syncline dev` recorded in DIR/.syncline).")
@click.option("--admin-key", envvar=["SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY"],
              help="Admin key (default: the one recorded in DIR/.syncline).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=".", show_default=True, help="The app folder of the running deployment.")
@click.option("--identity", default=None, metavar="JSON",
              help='Act as this user, e.g. \'{"subject": "user-1", "name": "Ada"}\': '
                   "ctx.auth.get_user_identity() returns it.")
@click.option("--watch", is_flag=True,
              help="Subscribe to the query and print each new result until Ctrl+C.")
def run(function: str, args: str, url: str | None, admin_key: str | None,
        directory: Path, identity: str | None, watch: bool) -> None:
    """Call FUNCTION (e.g. messages:send) with ARGS (a JSON object) on the running deployment.

    Internal functions work too: the call is made with the admin key. With --watch
    (queries only), print the result and then each new one as the data changes.
    """
    if watch:
        from syncline.cli.watch import run_watch
        run_watch(function, args, url, admin_key, directory, identity)
        return
    try:
        target = client.resolve_target(directory, url, admin_key)
        result = client.call_function(target, function, args, identity)
    except client.ClientError as e:
        raise click.ClickException(str(e)) from None
    for line in result.log_lines:
        console.err.print(f"[dim]{line}[/]", highlight=False)
    if result.ok:
        console.print_json(result.value)
    else:
        console.err.print(f"[red]{result.error_message}[/]", highlight=False)
        if result.error_data is not None:
            console.print_json(result.error_data)
        sys.exit(1)


@main.command("admin-key")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The deployment's data folder (default: DIRECTORY/.syncline).")
def admin_key_command(directory: Path, data_dir: Path | None) -> None:
    """Print the admin key of the deployment whose data is in DIRECTORY/.syncline.

    The key is derived from the deployment's instance secret (created on first use), so
    it is the same on every start; delete the secret to revoke every key.
    """
    from syncline.auth import AdminKeys
    from syncline.server.deployment import DEFAULT_INSTANCE_NAME

    folder = data_dir or directory / ".syncline"
    console.out.print(AdminKeys.for_data_dir(folder, DEFAULT_INSTANCE_NAME).admin_key(),
                      highlight=False, soft_wrap=True)


main.add_command(scheduled)
main.add_command(env)
main.add_command(history)
main.add_command(data)
main.add_command(import_command)
main.add_command(export_command)
main.add_command(logs)
main.add_command(metrics)
main.add_command(functions_command)
main.add_command(function_spec_command)
main.add_command(dashboard)


if __name__ == "__main__":
    main()

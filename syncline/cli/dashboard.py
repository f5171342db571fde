"""`syncline dashboard`: open the running deployment's dashboard in the browser, logged in.

It asks the deployment (with the admin key) for a one-time login link, valid for 10
minutes, prints it and opens it with the system's browser (Python's `webbrowser`).
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from syncline.cli import console
from syncline.cli.client import admin_request


@click.command("dashboard")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--url", envvar=["SYNCLINE_URL", "CONVEX_URL"],
              help="Deployment URL (default: the one `syncline dev/serve` recorded in "
                   "DIRECTORY/.syncline).")
@click.option("--admin-key", envvar=["SYNCLINE_ADMIN_KEY", "CONVEX_ADMIN_KEY"],
              help="Admin key (default: the one recorded in DIRECTORY/.syncline).")
@click.option("--no-open", is_flag=True,
              help="Only print the link (e.g. to open it on another machine).")
def dashboard(directory: Path, url: str | None, admin_key: str | None, no_open: bool) -> None:
    """Open the dashboard of the deployment running from DIRECTORY, logged in.

    The link logs a browser in once, within 10 minutes; run the command again for a
    new one.
    """
    link = admin_request("POST", "/dashboard/api/login-link", url, admin_key, directory,
                         what="Opening the dashboard")["url"]
    console.out.print(link, highlight=False, soft_wrap=True)
    if no_open:
        return
    try:
        opened = webbrowser.open(link)
    except webbrowser.Error:
        opened = False
    if not opened:
        console.err.print("[yellow]Could not open a browser here: open the link above "
                          "(it works once, within 10 minutes).[/]", highlight=False)

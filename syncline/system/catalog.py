"""The modules that define system functions: importing this module defines them all.

Add a module here (one line) to have its `@system_query`/... functions installed in
every deployment.
"""

from syncline.system import (
    cli_functions,  # noqa: F401
    cli_jobs,  # noqa: F401
    history,  # noqa: F401
)

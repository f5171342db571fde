"""The modules that define system functions: importing this module defines them all.

Add a module here (one `import` line) to have its `@system_query`/... functions
installed in every deployment.
"""

import syncline.system.cli_functions  # noqa: F401
import syncline.system.cli_jobs  # noqa: F401
import syncline.system.dashboard  # noqa: F401
import syncline.system.dashboard_data  # noqa: F401
import syncline.system.dashboard_files  # noqa: F401
import syncline.system.dashboard_logs  # noqa: F401
import syncline.system.dashboard_metrics  # noqa: F401
import syncline.system.dashboard_schedules  # noqa: F401
import syncline.system.dashboard_settings  # noqa: F401
import syncline.system.history  # noqa: F401
import syncline.system.metrics_functions  # noqa: F401

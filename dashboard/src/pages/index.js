// Every page of the dashboard, in the sidebar's order.
import DataPage from "./data.js";
import FilesPage from "./files.js";
import FunctionsPage from "./functions.js";
import HealthPage from "./health.js";
import HistoryPage from "./history.js";
import LogsPage from "./logs.js";
import SchedulesPage from "./schedules.js";
import SettingsPage from "./settings.js";

export const PAGES = [
  { id: "health", title: "Health", component: HealthPage },
  { id: "data", title: "Data", component: DataPage },
  { id: "functions", title: "Functions", component: FunctionsPage },
  { id: "files", title: "Files", component: FilesPage },
  { id: "schedules", title: "Schedules", component: SchedulesPage },
  { id: "logs", title: "Logs", component: LogsPage },
  { id: "history", title: "History", component: HistoryPage },
  { id: "settings", title: "Settings", component: SettingsPage },
];

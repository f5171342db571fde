// The Logs page: see ./logs/LogsPage.js.
export { default } from "./logs/LogsPage.js";

// The History page: see ./history/HistoryPage.js.
export { default } from "./history/HistoryPage.js";

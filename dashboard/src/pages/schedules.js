// The Schedules page: see ./schedules/SchedulesPage.js.
export { default } from "./schedules/SchedulesPage.js";

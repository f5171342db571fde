// The Settings page (placeholder until it is built).
import { placeholder } from "./placeholder.js";

export default placeholder("Settings");

// Application Insights JS, basic SKU (@microsoft/applicationinsights-web-basic).
import { makeSetup } from "./ai.mjs";
export const setup = makeSetup("basic");

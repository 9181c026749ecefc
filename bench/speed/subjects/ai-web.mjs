// Application Insights JS, full SKU (@microsoft/applicationinsights-web).
import { makeSetup } from "./ai.mjs";
export const setup = makeSetup("web");

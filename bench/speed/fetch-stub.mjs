// A `fetch` that sends nothing: every request is answered at once with an empty 200 (which both
// the Azure track endpoint rules and OTLP read as "all accepted"). It counts requests and body
// bytes (strings, Blobs, byte arrays), and keeps the last `Request` object it was given (Application Insights sends those)
// so that `lastBody()` can show, once, outside the timed loop, that the payload was really built.
export function stubFetch() {
  const seen = { requests: 0, bytes: 0, last: undefined };
  globalThis.fetch = async (input, init) => {
    seen.requests += 1;
    const body = init?.body;
    if (typeof body === "string") seen.bytes += Buffer.byteLength(body);
    else if (body instanceof Blob) seen.bytes += body.size;
    else if (body?.byteLength !== undefined) seen.bytes += body.byteLength;
    seen.last = typeof Request === "function" && input instanceof Request ? input : body;
    return new Response(null, { status: 200 });
  };
  seen.lastBody = async () => {
    const last = seen.last;
    if (typeof Request === "function" && last instanceof Request) return last.bodyUsed ? "" : await last.text();
    if (last instanceof Blob) return await last.text();
    return typeof last === "string" ? last : last ? Buffer.from(last).toString() : "";
  };
  return seen;
}

#!/usr/bin/env python3
"""An OTLP/HTTP receiver for the end-to-end tests: every export is decoded by the official OTLP
protobuf definitions (the `opentelemetry-proto` package) with Google's protobuf runtime
(`google.protobuf.json_format`), not by anything of edgecensus.

    python3 tests/otlp/server.py [--port 0] [--host 127.0.0.1] [--exit-on-stdin-eof] [--verbose]

Prints one JSON line when it listens: {"listening": "http://127.0.0.1:PORT", "pid": ...}.

Routes (every answer carries Access-Control-Allow-Origin: *; OPTIONS preflights are answered):
  POST /v1/traces, /v1/metrics, /v1/logs
        The body (gunzipped when Content-Encoding is gzip; deflate too) must be OTLP/JSON
        (Content-Type application/json) and is decoded into ExportTraceServiceRequest /
        ExportMetricsServiceRequest / ExportLogsServiceRequest with
        json_format.ParseDict(..., ignore_unknown_fields=False): an unknown or misspelt field, a
        value of the wrong type, a number out of range all fail. Before that, the OTLP/JSON rules
        that differ from the plain protobuf JSON mapping are enforced (OTLP specification,
        "JSON Protobuf Encoding"): keys are the lowerCamelCase JSON names (never the proto
        names), enum values are integers, and trace/span ids are hex strings (they are turned
        into the bytes the protobuf runtime wants, and their length is checked). After decoding,
        the data model rules that a decoder cannot see are checked (unique attribute keys, ids
        not all zero, end >= start, histogram buckets = bounds + 1 and their sum = count, ...).
        Every problem is stored in `errors` (tests assert there are none). The answer is 200 with
        the signal's Export*ServiceResponse as JSON (`{}`), 400 with a google.rpc.Status when the
        body cannot be decoded, or what the script says.
  GET    /received   {"requests": [...], "traces": [...], "metrics": [...], "logs": [...],
                      "errors": [...]}: each decoded export as {"seq", "message"} where message is
                      json_format.MessageToDict(request) (lowerCamelCase names, int64 as strings,
                      enums by name, bytes - so trace and span ids - in base64, every field present).
                      `requests` describes every request in order (method, path, headers, sizes,
                      the answer given); `errors` are {"seq", "path", "kind", "message"}.
  DELETE /received   forgets everything received (not the script).
  POST   /script     {"answers": [answer, ...], "default": answer | null}: answers to give instead
                      of the normal one. Each export takes the first queued answer whose `path`
                      (if any) matches, else the default, else the normal answer. An answer:
                        status        HTTP status (default 200)
                        partialSuccess {"rejected": n, "errorMessage": "..."}: a 200 whose body is
                                      the signal's Export*ServiceResponse with partial_success
                                      (rejected_spans / rejected_data_points / rejected_log_records)
                        body          a JSON value or text to answer with instead
                        headers       extra answer headers (e.g. {"retry-after": "1"})
                        delayMs       wait this long before answering
                        destroy       true: close the connection without answering
                        times         how many exports this answer serves (default 1)
                        path          only for this path (e.g. "/v1/logs")
                        store         keep the decoded export in `traces`/`metrics`/`logs`
                                      (default: only when the status is 2xx)
                        label         a name for it in `requests`
                      Replaces the whole script; {"answers": [], "default": null} clears it.
  GET    /script     the script left.
"""

import argparse
import base64
import binascii
import copy
import gzip
import json
import os
import re
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from google.protobuf import json_format
    from google.protobuf.descriptor import FieldDescriptor
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
except ImportError as error:  # pragma: no cover - a machine without the packages
    print(
        json.dumps({"error": f"{error}: install tests/otlp/requirements.txt (scripts/setup does)"}),
        flush=True,
    )
    sys.exit(3)

MAX_BODY_BYTES = 32 * 1024 * 1024

# path -> (signal, request class, response class, partial-success counter field)
SIGNALS = {
    "/v1/traces": (
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        "rejected_spans",
    ),
    "/v1/metrics": (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        "rejected_data_points",
    ),
    "/v1/logs": (
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        "rejected_log_records",
    ),
}

# OTLP/JSON: these bytes fields are hex strings, of this many bytes.
ID_FIELDS = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}
HEX = re.compile(r"^[0-9a-fA-F]*$")


class DecodeProblem(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


def strict_json(text):
    """json.loads without NaN/Infinity literals and without duplicate keys."""

    def no_constants(name):
        raise DecodeProblem(f"JSON has the non-standard literal {name}")

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                raise DecodeProblem(f"JSON object has the key {key!r} twice")
            seen[key] = value
        return seen

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        raise DecodeProblem(f"not JSON: {error}") from None


def conform(value, descriptor, where, problems):
    """Checks the OTLP/JSON-specific rules against the message descriptor and returns a copy in
    the protobuf JSON mapping (hex ids turned into base64). Problems are appended; unknown keys
    are passed on untouched for json_format to refuse."""
    if not isinstance(value, dict):
        return value  # json_format says what is wrong with it
    out = {}
    by_json = {f.json_name: f for f in descriptor.fields}
    by_name = {f.name: f for f in descriptor.fields}
    for key, item in value.items():
        field = by_json.get(key)
        if field is None:
            proto_field = by_name.get(key)
            if proto_field is not None:
                problems.append(
                    f"{where}.{key}: the proto field name; OTLP/JSON keys are the lowerCamelCase "
                    f"JSON names ({proto_field.json_name!r})"
                )
            out[key] = item
            continue
        path = f"{where}.{key}"
        if field.is_repeated and isinstance(item, list):
            out[key] = [conform_field(field, element, f"{path}[{i}]", problems) for i, element in enumerate(item)]
        else:
            out[key] = conform_field(field, item, path, problems)
    return out


def conform_field(field, item, where, problems):
    if item is None:
        return item
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return conform(item, field.message_type, where, problems)
    if field.type == FieldDescriptor.TYPE_ENUM:
        if isinstance(item, bool) or not isinstance(item, int):
            problems.append(f"{where}: enum values are integers in OTLP/JSON, got {json.dumps(item)}")
        elif field.enum_type.values_by_number.get(item) is None:
            problems.append(f"{where}: {item} is not a value of {field.enum_type.full_name}")
        return item
    if field.type == FieldDescriptor.TYPE_BYTES and field.name in ID_FIELDS:
        size = ID_FIELDS[field.name]
        if not isinstance(item, str):
            problems.append(f"{where}: ids are hex strings in OTLP/JSON, got {json.dumps(item)}")
            return item
        if item == "":
            return item
        if not HEX.match(item) or len(item) != 2 * size:
            problems.append(
                f"{where}: {json.dumps(item)} is not {2 * size} hex digits ({size} bytes, as OTLP/JSON encodes ids)"
            )
            return ""
        return base64.b64encode(binascii.unhexlify(item)).decode("ascii")
    return item


def decode_body(raw, headers):
    encoding = (headers.get("content-encoding") or "identity").strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("identity", ""):
            raise DecodeProblem(f"unsupported Content-Encoding {encoding!r}")
    except (OSError, EOFError, zlib.error) as error:
        raise DecodeProblem(f"Content-Encoding {encoding} but the body does not decompress: {error}") from None
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise DecodeProblem(
            f"Content-Type {headers.get('content-type')!r}: OTLP/HTTP JSON must be sent as application/json"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeProblem(f"the body is not UTF-8: {error}") from None
    return raw, strict_json(text)


def decode_export(path, data):
    """The decoded Export*ServiceRequest, and the OTLP/JSON problems found on the way."""
    _, cls, _, _ = SIGNALS[path]
    problems = []
    converted = conform(data, cls.DESCRIPTOR, cls.DESCRIPTOR.name, problems)
    message = cls()
    try:
        json_format.ParseDict(converted, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        failure = DecodeProblem(f"json_format.ParseDict({cls.DESCRIPTOR.name}): {error}")
        failure.problems = problems
        raise failure from None
    return message, problems


# ---------------------------------------------------------------------------------------------
# The data model rules (what the specification requires beyond what decodes)
# ---------------------------------------------------------------------------------------------


def check_attributes(attributes, where, problems):
    keys = set()
    for i, kv in enumerate(attributes):
        if not kv.key:
            problems.append(f"{where}[{i}]: empty attribute key")
        if kv.key in keys:
            problems.append(f"{where}: attribute key {kv.key!r} appears twice (keys MUST be unique)")
        keys.add(kv.key)
        if kv.value.WhichOneof("value") is None:
            problems.append(f"{where}[{i}] ({kv.key!r}): no value")


def check_id(value, size, where, problems, required):
    if not value:
        if required:
            problems.append(f"{where}: missing")
        return
    if len(value) != size:
        problems.append(f"{where}: {len(value)} bytes, want {size}")
    elif value == bytes(size):
        problems.append(f"{where}: all zeros (an invalid id)")


def check_resource_and_scope(container, where, problems):
    check_attributes(container.resource.attributes, f"{where}.resource.attributes", problems)


def check_traces(message, problems):
    for r, rs in enumerate(message.resource_spans):
        where = f"resourceSpans[{r}]"
        check_resource_and_scope(rs, where, problems)
        for s, ss in enumerate(rs.scope_spans):
            check_attributes(ss.scope.attributes, f"{where}.scopeSpans[{s}].scope.attributes", problems)
            for i, span in enumerate(ss.spans):
                w = f"{where}.scopeSpans[{s}].spans[{i}] ({span.name!r})"
                check_id(span.trace_id, 16, f"{w}.traceId", problems, True)
                check_id(span.span_id, 8, f"{w}.spanId", problems, True)
                check_id(span.parent_span_id, 8, f"{w}.parentSpanId", problems, False)
                if not span.name:
                    problems.append(f"{w}: empty name")
                if span.start_time_unix_nano == 0:
                    problems.append(f"{w}: no startTimeUnixNano")
                if span.end_time_unix_nano < span.start_time_unix_nano:
                    problems.append(f"{w}: ends before it starts")
                check_attributes(span.attributes, f"{w}.attributes", problems)
                for e, event in enumerate(span.events):
                    if event.time_unix_nano == 0:
                        problems.append(f"{w}.events[{e}]: no timeUnixNano")
                    check_attributes(event.attributes, f"{w}.events[{e}].attributes", problems)
                for k, link in enumerate(span.links):
                    check_id(link.trace_id, 16, f"{w}.links[{k}].traceId", problems, True)
                    check_id(link.span_id, 8, f"{w}.links[{k}].spanId", problems, True)
                    check_attributes(link.attributes, f"{w}.links[{k}].attributes", problems)
                if span.status.message and span.status.code != span.status.STATUS_CODE_ERROR:
                    problems.append(f"{w}: a status message without an error status")


def check_number_point(point, w, cumulative, problems):
    if point.WhichOneof("value") is None:
        problems.append(f"{w}: no value (asInt/asDouble)")
    if point.time_unix_nano == 0:
        problems.append(f"{w}: no timeUnixNano")
    if cumulative and point.start_time_unix_nano == 0:
        problems.append(f"{w}: a cumulative point without startTimeUnixNano")
    if point.start_time_unix_nano > point.time_unix_nano:
        problems.append(f"{w}: startTimeUnixNano after timeUnixNano")
    check_attributes(point.attributes, f"{w}.attributes", problems)


def check_metrics(message, problems):
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    cumulative = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    for r, rm in enumerate(message.resource_metrics):
        where = f"resourceMetrics[{r}]"
        check_resource_and_scope(rm, where, problems)
        for s, sm in enumerate(rm.scope_metrics):
            # The same metric may come several times (points of different times, e.g. exports
            # queued during an outage), but always with one identity, and never the same point twice.
            identities = {}
            points = set()
            for i, metric in enumerate(sm.metrics):
                w = f"{where}.scopeMetrics[{s}].metrics[{i}] ({metric.name!r})"
                if not metric.name:
                    problems.append(f"{w}: empty name")
                kind = metric.WhichOneof("data")
                identity = (kind, metric.unit, getattr(getattr(metric, kind), "is_monotonic", None) if kind else None)
                if identities.setdefault(metric.name, identity) != identity:
                    problems.append(f"{w}: the same name with another type, unit or monotonicity ({identities[metric.name]} vs {identity})")
                if kind is None:
                    problems.append(f"{w}: no data (sum/gauge/histogram/...)")
                    continue
                for point in getattr(metric, kind).data_points:
                    attributes = tuple((kv.key, kv.value.SerializeToString(deterministic=True)) for kv in point.attributes)
                    key = (metric.name, point.time_unix_nano, attributes)
                    if key in points:
                        problems.append(f"{w}: the same series at the same time twice")
                    points.add(key)
                data = getattr(metric, kind)
                if kind in ("sum", "histogram") and data.aggregation_temporality == 0:
                    problems.append(f"{w}: aggregationTemporality unspecified")
                is_cumulative = kind in ("sum", "histogram") and data.aggregation_temporality == cumulative
                if not data.data_points:
                    problems.append(f"{w}: no data points")
                for p, point in enumerate(data.data_points):
                    pw = f"{w}.{kind}.dataPoints[{p}]"
                    if kind in ("sum", "gauge"):
                        check_number_point(point, pw, is_cumulative, problems)
                        if kind == "sum" and data.is_monotonic:
                            value = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
                            if value < 0:
                                problems.append(f"{pw}: a monotonic sum below zero")
                    elif kind == "histogram":
                        if point.time_unix_nano == 0:
                            problems.append(f"{pw}: no timeUnixNano")
                        if is_cumulative and point.start_time_unix_nano == 0:
                            problems.append(f"{pw}: a cumulative point without startTimeUnixNano")
                        bounds = list(point.explicit_bounds)
                        buckets = list(point.bucket_counts)
                        if buckets and len(buckets) != len(bounds) + 1:
                            problems.append(f"{pw}: {len(buckets)} bucketCounts for {len(bounds)} explicitBounds")
                        if any(b >= c for b, c in zip(bounds, bounds[1:])):
                            problems.append(f"{pw}: explicitBounds not strictly increasing")
                        if buckets and sum(buckets) != point.count:
                            problems.append(f"{pw}: bucketCounts add up to {sum(buckets)}, count is {point.count}")
                        if point.count and point.HasField("min") and point.HasField("max") and point.min > point.max:
                            problems.append(f"{pw}: min > max")
                        check_attributes(point.attributes, f"{pw}.attributes", problems)


def check_logs(message, problems):
    for r, rl in enumerate(message.resource_logs):
        where = f"resourceLogs[{r}]"
        check_resource_and_scope(rl, where, problems)
        for s, sl in enumerate(rl.scope_logs):
            for i, record in enumerate(sl.log_records):
                w = f"{where}.scopeLogs[{s}].logRecords[{i}]"
                if record.time_unix_nano == 0 and record.observed_time_unix_nano == 0:
                    problems.append(f"{w}: neither timeUnixNano nor observedTimeUnixNano")
                check_id(record.trace_id, 16, f"{w}.traceId", problems, False)
                check_id(record.span_id, 8, f"{w}.spanId", problems, False)
                if record.span_id and not record.trace_id:
                    problems.append(f"{w}: a spanId without a traceId")
                check_attributes(record.attributes, f"{w}.attributes", problems)


CHECKS = {"traces": check_traces, "metrics": check_metrics, "logs": check_logs}


def count_items(signal, message):
    if signal == "traces":
        return sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)
    if signal == "metrics":
        return sum(
            len(getattr(m, m.WhichOneof("data")).data_points) if m.WhichOneof("data") else 0
            for rm in message.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
    return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)


def to_dict(message):
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=False,
        always_print_fields_with_no_presence=True,
    )


# ---------------------------------------------------------------------------------------------
# State and script
# ---------------------------------------------------------------------------------------------


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 0
        self.reset()
        self.answers = []
        self.default = None

    def reset(self):
        self.requests = []
        self.decoded = {"traces": [], "metrics": [], "logs": []}
        self.errors = []

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def take_answer(self, path):
        with self.lock:
            for i, answer in enumerate(self.answers):
                if answer.get("path") in (None, path):
                    left = int(answer.get("times", 1)) - 1
                    if left <= 0:
                        self.answers.pop(i)
                    else:
                        answer["times"] = left
                    return dict(answer)
            return dict(self.default) if self.default else None

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(
                {
                    "requests": self.requests,
                    "traces": self.decoded["traces"],
                    "metrics": self.decoded["metrics"],
                    "logs": self.decoded["logs"],
                    "errors": self.errors,
                }
            )


STATE = State()
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After, Content-Type",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otlp-decoder/1"
    verbose = False

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if self.verbose:
            sys.stderr.write("otlp-decoder: " + (format % args) + "\n")

    # -- answers ---------------------------------------------------------------------------

    def answer(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        for name, value in CORS.items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            size = 0
            while True:
                line = self.rfile.readline(65537)
                length = int(line.split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += length
                if size > MAX_BODY_BYTES:
                    raise DecodeProblem("body too large")
                chunks.append(self.rfile.read(length))
                self.rfile.readline(3)
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            raise DecodeProblem("body too large")
        return self.rfile.read(length) if length else b""

    # -- methods ---------------------------------------------------------------------------

    def do_OPTIONS(self):  # noqa: N802
        seq = STATE.next_seq()
        with STATE.lock:
            STATE.requests.append(
                {
                    "seq": seq,
                    "method": "OPTIONS",
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "at": time.time() * 1000,
                }
            )
        headers = {
            "Access-Control-Allow-Methods": "POST, GET, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": self.headers.get("access-control-request-headers") or "content-type",
            "Access-Control-Max-Age": "600",
        }
        if self.headers.get("access-control-request-private-network"):
            headers["Access-Control-Allow-Private-Network"] = "true"
        self.answer(204, b"", headers)

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/received":
            return self.answer(200, STATE.snapshot())
        if path == "/script":
            with STATE.lock:
                return self.answer(200, {"answers": STATE.answers, "default": STATE.default})
        if path == "/health":
            return self.answer(200, {"ok": True})
        return self.answer(404, {"message": f"no route GET {path}"})

    def do_DELETE(self):  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/received":
            with STATE.lock:
                STATE.reset()
            return self.answer(200, {"ok": True})
        return self.answer(404, {"message": f"no route DELETE {path}"})

    def do_POST(self):  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/script":
            try:
                script = json.loads(self.read_body() or b"{}")
                answers = script.get("answers") or []
                default = script.get("default")
                if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
                    raise ValueError("answers must be a list of objects")
                if default is not None and not isinstance(default, dict):
                    raise ValueError("default must be an object or null")
            except (ValueError, AttributeError) as error:
                return self.answer(400, {"message": f"bad script: {error}"})
            with STATE.lock:
                STATE.answers = answers
                STATE.default = default
            return self.answer(200, {"ok": True})
        if path in SIGNALS:
            return self.export(path)
        self.read_body()
        return self.answer(404, {"message": f"no route POST {path}"})

    def export(self, path):
        signal, _, response_class, rejected_field = SIGNALS[path]
        seq = STATE.next_seq()
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = {
            "seq": seq,
            "method": "POST",
            "path": path,
            "signal": signal,
            "headers": headers,
            "contentType": headers.get("content-type"),
            "contentEncoding": headers.get("content-encoding"),
            "at": time.time() * 1000,
        }
        errors = []
        message = None
        try:
            raw = self.read_body()
            record["bodyBytes"] = len(raw)
            decompressed, data = decode_body(raw, headers)
            record["jsonBytes"] = len(decompressed)
            message, problems = decode_export(path, data)
            for problem in problems:
                errors.append({"seq": seq, "path": path, "kind": "otlp-json", "message": problem})
            semantic = []
            CHECKS[signal](message, semantic)
            for problem in semantic:
                errors.append({"seq": seq, "path": path, "kind": "data-model", "message": problem})
            record["items"] = count_items(signal, message)
        except DecodeProblem as error:
            for problem in getattr(error, "problems", []):
                errors.append({"seq": seq, "path": path, "kind": "otlp-json", "message": problem})
            errors.append({"seq": seq, "path": path, "kind": "decode", "message": str(error)})
        record["decoded"] = message is not None

        scripted = STATE.take_answer(path)
        if message is None and not scripted:
            status, body, extra = 400, {"code": 3, "message": errors[-1]["message"]}, {}
        elif scripted:
            status = int(scripted.get("status", 200))
            extra = scripted.get("headers") or {}
            if "partialSuccess" in scripted:
                partial = scripted["partialSuccess"]
                response = response_class()
                setattr(response.partial_success, rejected_field, int(partial.get("rejected", 0)))
                response.partial_success.error_message = partial.get("errorMessage", "")
                body = json_format.MessageToDict(response)
            elif "body" in scripted:
                body = scripted["body"]
            else:
                body = json_format.MessageToDict(response_class()) if 200 <= status < 300 else b""
            record["scripted"] = scripted.get("label") or (
                "destroy" if scripted.get("destroy") else f"{status}"
            )
        else:
            status, body, extra = 200, json_format.MessageToDict(response_class()), {}

        store = scripted.get("store") if scripted and "store" in scripted else 200 <= status < 300
        with STATE.lock:
            STATE.requests.append(record)
            STATE.errors.extend(errors)
            if message is not None and store:
                STATE.decoded[signal].append({"seq": seq, "message": to_dict(message)})

        if scripted and scripted.get("delayMs"):
            time.sleep(float(scripted["delayMs"]) / 1000)
        if scripted and scripted.get("destroy"):
            with STATE.lock:
                record["answered"] = "destroyed"
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        with STATE.lock:
            record["answered"] = status
        try:
            self.answer(status, body, extra)
        except (BrokenPipeError, ConnectionResetError):
            with STATE.lock:
                record["answered"] = "client gone"


def main():
    parser = argparse.ArgumentParser(description="OTLP/HTTP JSON receiver decoding with opentelemetry-proto")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when standard input closes (the parent that started it is gone)",
    )
    args = parser.parse_args()
    Handler.verbose = args.verbose

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server((args.host, args.port), Handler)
    host, port = server.server_address[:2]
    print(json.dumps({"listening": f"http://{host}:{port}", "pid": os.getpid()}), flush=True)

    if args.exit_on_stdin_eof:

        def watch():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            finally:
                os._exit(0)

        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

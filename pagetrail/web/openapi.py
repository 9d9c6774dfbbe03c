"""The OpenAPI 3.1 description of the JSON API and the Memento endpoints, served at
/api/openapi.json. tests/test_web_api.py checks that it lists exactly the routes the app serves
and that real answers validate against these schemas, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from pagetrail import __version__

_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_TIME = {"type": ["string", "null"], "description": "ISO 8601 UTC with Z"}
_UID = {"type": "string", "description": "the page's stable id (derived from its URL), the same in every archive"}
_REF = {"type": "string", "description": "the revision's stable ref <page_uid>:<ordinal>, the same in every archive"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required or list(props)}
    if not extra:
        out["additionalProperties"] = False
    return out


SCHEMAS: dict[str, Any] = {
    "ExportManifest": _obj({"file": {"type": "string"}, "format": {"type": "string"}, "query": {"type": "object"},
                            "rows": {"type": "object"}, "sha256": {"type": "string"},
                            "redactions": {"type": "array"}, "parser_versions": {"type": "array"}}),
    "RedactionReport": _obj({"id": {"type": "integer"}, "at": _TIME, "who": {"type": "string"},
                             "reason": {"type": "string"}, "target": {"type": "object"},
                             "raw_redacted": {"type": "boolean"}, "already_redacted": {"type": "boolean"},
                             "removed": {"type": "object"}}),
    "Redactions": _obj({"items": {"type": "array", "items": {"type": "object"}}}),
    "ReparseReport": _obj({"considered": {"type": "integer"}, "rederived": {"type": "integer"},
                           "skipped": {"type": "integer"}, "failed": {"type": "array"},
                           "pages_rebuilt": {"type": "integer"}}),
    "Error": _obj({"error": {"type": "string", "description": "what went wrong and what to do"}}, extra=False),
    "Health": _obj(
        {
            "status": {"enum": ["ok", "unavailable"]},
            "version": {"type": "string"},
            "schema": _NULL_STR,
            "schema_expected": {"type": "string"},
        }
    ),
    "Run": _obj(
        {
            "run": {"type": "integer"},
            "kind": {"type": "string"},
            "status": {"type": "string"},
            "started_at": _TIME,
            "finished_at": _TIME,
            "seeds": {"type": "integer"},
            "stats": {"type": "object"},
            "owner": _NULL_STR,
        }
    ),
    "Schedule": _obj(
        {
            "name": {"type": "string"},
            "paused": {"type": "boolean"},
            "every": {},
            "cron": {},
            "seeds": {"type": "integer"},
            "last_fire_at": _TIME,
            "last_run": {"oneOf": [_ref("Run"), {"type": "null"}]},
        }
    ),
    "Status": _obj(
        {
            "totals": _obj({k: {"type": "integer"} for k in ("pages", "captures", "revisions", "comments")}),
            "storage": _obj(
                {k: {"type": "integer"} for k in ("captures", "bytes_received", "bytes_stored", "keyframes")}
            ),
            "last_capture_at": _TIME,
            "last_run": {"oneOf": [_ref("Run"), {"type": "null"}]},
            "runs": {"type": "array", "items": _ref("Run")},
            "schedules": {"type": "array", "items": _ref("Schedule")},
        }
    ),
    "Sites": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj(
                    {"host": {"type": "string"}, "pages": {"type": "integer"}, "captures": {"type": "integer"},
                     "last_seen": _TIME}
                ),
            }
        }
    ),
    "PageRow": _obj(
        {
            "page": {"type": "integer"},
            "page_uid": _UID,
            "url": {"type": "string"},
            "site": {"type": "string"},
            "title": _NULL_STR,
            "first_seen": _TIME,
            "last_seen": _TIME,
            "gone_at": _TIME,
            "captures": {"type": "integer"},
            "revisions": {"type": "integer"},
            "comments": {"type": "integer"},
        }
    ),
    "PageList": _obj(
        {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next": {"type": ["string", "null"], "description": "the next page's path and query, or null"},
            "items": {"type": "array", "items": _ref("PageRow")},
        }
    ),
    "Revision": _obj(
        {
            "revision": {"type": "integer"},
            "ref": _REF,
            "first_seen": _TIME,
            "last_seen": _TIME,
            "valid_to": _TIME,
            "content_hash": {"type": "string"},
            "title": _NULL_STR,
            "modified": _NULL_STR,
            "same_as": _NULL_INT,
        }
    ),
    "History": _obj(
        {
            "url": {"type": "string"},
            "page": {"type": "integer"},
            "page_uid": _UID,
            "captures": {"type": "integer"},
            "gone_at": _TIME,
            "revisions": {"type": "array", "items": _ref("Revision")},
            "comments": {
                "type": "array",
                "items": _obj(
                    {"id": _NULL_STR, "key": {"type": "string"}, "number": _NULL_INT, "author": _NULL_STR,
                     "first_seen": _TIME, "last_seen": _TIME, "removed_at": _TIME}
                ),
            },
        }
    ),
    "Captures": _obj(
        {
            "url": {"type": "string"},
            "items": {
                "type": "array",
                "items": _obj(
                    {
                        "capture": {"type": "integer"},
                        "fetched_at": _TIME,
                        "status": _NULL_INT,
                        "outcome": {"type": "string"},
                        "error_kind": _NULL_STR,
                        "not_modified": {"type": "boolean"},
                        "truncated": {"type": "boolean"},
                        "has_payload": {"type": "boolean"},
                        "payload_size": _NULL_INT,
                        "revision": _NULL_INT,
                    }
                ),
            },
        }
    ),
    "Comment": _obj(
        {
            "id": _NULL_STR, "key": {"type": "string"}, "number": _NULL_INT, "author": _NULL_STR,
            "posted": _NULL_STR, "text": {"type": "string"}, "reply_to": _NULL_STR, "reply_to_key": _NULL_STR,
        }
    ),
    "AsOf": _obj(
        {
            "url": {"type": "string"},
            "page_uid": _UID,
            "at": _TIME,
            "revision": _obj(
                {"revision": {"type": "integer"}, "ref": _REF, "valid_from": _TIME, "valid_to": _TIME,
                 "metadata": {"type": "object"}, "body": {"type": "object"}}
            ),
            "comments": {"type": "array", "items": _ref("Comment")},
            "ads": {
                "type": "array",
                "items": _obj({"kind": {"type": "string"}, "slot": _NULL_STR, "text": _NULL_STR, "url": _NULL_STR}),
            },
            "gone": {"type": "boolean"},
        }
    ),
    "Diff": _obj(
        {
            "url": {"type": "string"},
            "from": _obj({"revision": {"type": "integer"}, "ref": _REF}, extra=True),
            "to": _obj({"revision": {"type": "integer"}, "ref": _REF}, extra=True),
            "metadata": {"type": "object", "description": "field -> {from, to}, changed fields only"},
            "body": _obj({"from": {"type": "array"}, "to": {"type": "array"}}),
            "unified_diff": {"type": "array", "items": {"type": "string"}},
            "comments_added": {"type": "array", "items": _ref("Comment")},
            "comments_removed": {"type": "array", "items": _ref("Comment")},
            "comments_edited": {"type": "array"},
            "side_by_side": {
                "type": "array",
                "description": "aligned paragraphs; segments are [kind, text] with kind equal|del|ins",
                "items": _obj(
                    {
                        "kind": {"enum": ["equal", "changed", "deleted", "inserted"]},
                        "from_paragraph": _NULL_INT,
                        "to_paragraph": _NULL_INT,
                        "from": {"type": ["array", "null"]},
                        "to": {"type": ["array", "null"]},
                    }
                ),
            },
        }
    ),
    "CommentTimeline": _obj(
        {
            "url": {"type": "string"},
            "comments": {"type": "array", "items": {"type": "object", "required": ["key", "versions", "removed_at"]}},
            "events": {
                "type": "array",
                "items": _obj({"at": _TIME, "kind": {"enum": ["added", "edited", "removed"]},
                               "key": {"type": "string"}, "number": _NULL_INT, "author": _NULL_STR}),
            },
            "counts": {"type": "array", "items": _obj({"at": _TIME, "visible": {"type": "integer"}})},
        }
    ),
    "Search": _obj(
        {
            "query": {"type": "string"},
            "hits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["url", "page", "page_uid", "snippet", "valid_from", "valid_to"],
                    "properties": {"snippet": {"type": "string", "description": "hits wrapped in **"},
                                   "page_uid": _UID, "revision_ref": _REF},
                },
            },
        }
    ),
    "Schedules": _obj({"items": {"type": "array", "items": _ref("Schedule")}}),
    "TimeMapJson": _obj(
        {
            "original_uri": {"type": "string"},
            "timegate_uri": {"type": "string"},
            "timemap_uri": _obj({"link_format": {"type": "string"}, "json_format": {"type": "string"}}),
            "mementos": _obj(
                {
                    "first": {"type": "object"},
                    "last": {"type": "object"},
                    "list": {
                        "type": "array",
                        "items": _obj({"datetime": _TIME, "uri": {"type": "string"}, "status": _NULL_INT}),
                    },
                }
            ),
        }
    ),
}


def _q(name: str, desc: str, *, required: bool = False, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": desc,
            "schema": schema or {"type": "string"}}


def _p(name: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": desc, "schema": schema or {"type": "string"}}


_URL = _q("url", "the page's URL (a page key or an alias: final URL, canonical)", required=True)
_URL_PATH = _p("url", "the archived URL written out in full after the prefix, query string included "
               "(e.g. /timegate/http://www.wisegeek.com/x.htm)")
_TS = _p("ts", "YYYYMMDDhhmmss (4 to 14 digits; a shorter stamp means the end of that period)")
_ERR = {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}


def _json(name: str, desc: str = "OK") -> dict[str, Any]:
    return {"description": desc + " (ETag; If-None-Match answers 304)",
            "content": {"application/json": {"schema": _ref(name)}}}


def _get(summary: str, resp: dict[str, Any], params: list[dict[str, Any]] | None = None,
         errors: tuple[str, ...] = ("400", "404")) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": resp, "304": {"description": "not modified"}}
    for code in errors:
        responses[code] = _ERR
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _post(summary: str, resp: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params,
            "security": [{"bearer": []}],
            "responses": {"200": resp, "401": _ERR, "403": _ERR, "404": _ERR},
        }
    }


def spec(server: str = "") -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/openapi.json": _get("this description", {"description": "OpenAPI 3.1 JSON"}, errors=()),
        "/api/health": _get("liveness and database reachability", _json("Health"), errors=("503",)),
        "/api/status": _get("totals, storage figures, recent crawl runs, schedules", _json("Status"), errors=()),
        "/api/metrics": _get(
            "the status figures in the Prometheus text format",
            {"description": "text/plain; version=0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}},
            errors=(),
        ),
        "/api/sites": _get("sites with page and capture counts", _json("Sites"), errors=()),
        "/api/pages": _get(
            "pages, filtered and paginated (a Link rel=next header and `next` name the next page)",
            _json("PageList"),
            [
                _q("site", "only pages on this host"),
                _q("q", "URL or any revision title contains this (case-insensitive)"),
                _q("has_comments", "true or false", schema={"type": "boolean"}),
                _q("changed_since", "only pages with a revision first seen at or after this (ISO 8601)"),
                _q("gone", "true: only pages that answered 404/410 last; false: only live ones",
                   schema={"type": "boolean"}),
                _q("sort", "order", schema={"enum": ["url", "last_seen", "revisions", "comments"], "default": "url"}),
                _q("limit", "page size", schema={"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
                _q("offset", "rows to skip", schema={"type": "integer", "minimum": 0, "default": 0}),
            ],
            errors=("400",),
        ),
        "/api/history": _get("a page's revisions and comment lifetimes", _json("History"), [_URL]),
        "/api/captures": _get("every fetch of a page, with the revision valid at each", _json("Captures"), [_URL]),
        "/api/as-of": _get(
            "the page as of a moment: the revision valid then, comments visible then, ads of the latest capture "
            "at or before then; 404 before the first capture",
            _json("AsOf"),
            [_URL, _q("at", "ISO 8601 (a date alone means the end of that day, UTC); default now")],
        ),
        "/api/diff": _get(
            "metadata and body changes between two revisions, word-level side by side, and comment changes",
            _json("Diff"),
            [_URL, _q("from", "revision ordinal or moment (default the second-to-last revision)"),
             _q("to", "revision ordinal or moment (default the last revision)")],
        ),
        "/api/comments": _get("comments with versions; added/edited/removed events; visible counts",
                              _json("CommentTimeline"), [_URL]),
        "/api/search": _get(
            "full-text search across every revision and comment",
            _json("Search"),
            [_q("q", "words, all must match", required=True), _q("site", "only this host"),
             _q("from", "texts valid at some point after this"), _q("to", "texts valid at some point before this"),
             _q("in", "where to look", schema={"enum": ["body", "comments", "all"], "default": "all"}),
             _q("limit", "most hits", schema={"type": "integer", "minimum": 1, "maximum": 500, "default": 50})],
            errors=("400",),
        ),
        "/api/schedules": _get("schedules with their last fire and run", _json("Schedules"), errors=()),
        "/api/schedules/{name}/pause": _post("pause a schedule", _json("Schedule"), [_p("name", "schedule name")]),
        "/api/schedules/{name}/resume": _post("resume a schedule", _json("Schedule"), [_p("name", "schedule name")]),
        "/api/export": _get(
            "a research dataset as a download, made by the same code as `pagetrail export` (columns: "
            "docs/exports.md); X-Export-Sha256 and X-Export-Rows headers; manifest=true answers with the manifest",
            {"description": "the file (JSON lines, CSV, Parquet or WARC.gz), or the manifest",
             "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                         "text/csv": {"schema": {"type": "string"}},
                         "application/json": {"schema": _ref("ExportManifest")}}},
            [_q("format", "jsonl (default), csv, parquet or warc",
                schema={"enum": ["jsonl", "csv", "parquet", "warc"]}),
             _q("what", "revisions, comments, captures or ads (all formats but warc)",
                schema={"enum": ["revisions", "comments", "captures", "ads"]}),
             _q("site", "only this host's pages"), _q("from", "rows valid or fetched from this date"),
             _q("to", "rows valid or fetched until this date"),
             _q("manifest", "true: the manifest (JSON) instead of the file", schema={"type": "boolean"})],
            errors=("400",),
        ),
        "/api/redactions": _get("the redaction audit trail (who, when, why, what; never the data)",
                                _json("Redactions"), errors=()),
        "/api/reparse": _post(
            "re-derive records from stored captures with the current parsers",
            _json("ReparseReport"),
            [_q("url", "a page to reparse (repeatable); none: every page"), _q("site", "only this host's pages"),
             _q("since", "only captures fetched since this date"),
             _q("force", "re-derive even when the records would not change", schema={"type": "boolean"})],
        ),
        "/api/redact": _post(
            "remove personal data from records, search and exports, with an audit entry",
            _json("RedactionReport"),
            [_q("comment", "a comment key (with url= to name one page)"), _q("url", "the comment's page"),
             _q("author", "every comment by this author"), _q("capture", "a capture id: its raw bytes"),
             _q("reason", "why (recorded in the audit trail)", required=True),
             _q("raw", "remove the raw captures' bytes too", schema={"type": "boolean"}),
             _q("who", "recorded as the redactor (default: api)")],
        ),
        # ---- Memento (RFC 7089, pattern 2.2) ----
        "/timegate/{url}": {
            "get": {
                "summary": "Memento TimeGate for raw captures: 302 to the latest memento at or before "
                "Accept-Datetime (default: the latest). Before the first memento it offers the first "
                "and says so in X-Memento-Notice: before-first-memento.",
                "parameters": [_URL_PATH, {"name": "Accept-Datetime", "in": "header", "required": False,
                                           "schema": {"type": "string"}, "description": "an HTTP-date in GMT"}],
                "responses": {"302": {"description": "Location, Vary: accept-datetime, Link"}, "400": _ERR, "404": _ERR},
            }
        },
        "/timemap/{fmt}/{url}": _get(
            "Memento TimeMap of raw captures: link = application/link-format, json = the JSON form",
            {"description": "application/link-format or application/json",
             "content": {"application/link-format": {"schema": {"type": "string"}},
                         "application/json": {"schema": _ref("TimeMapJson")}}},
            [_p("fmt", "link or json", {"enum": ["link", "json"]}), _URL_PATH],
        ),
        "/web/{ts}/{url}": {
            "get": {
                "summary": "a raw memento: the archived bytes (content-encoding undone) with the archived "
                "status and Content-Type, Memento-Datetime, Link (original, timegate, timemap, first/prev/"
                "next/last memento), Content-Security-Policy: sandbox. Original headers as X-Archive-Orig-*. "
                "A stamp that is not a memento's redirects (302) to the one the as-of rule picks.",
                "parameters": [_TS, _URL_PATH],
                "responses": {"200": {"description": "the archived payload"}, "302": {"description": "closest memento"},
                              "304": {"description": "not modified"}, "400": _ERR, "404": _ERR},
            }
        },
        "/records/timegate/{url}": {
            "get": {
                "summary": "Memento TimeGate for parsed records (same rules as /timegate/)",
                "parameters": [_URL_PATH],
                "responses": {"302": {"description": "Location, Vary: accept-datetime, Link"}, "400": _ERR, "404": _ERR},
            }
        },
        "/records/timemap/{fmt}/{url}": _get(
            "Memento TimeMap of parsed records (captures that took part in versioning)",
            {"description": "application/link-format or application/json",
             "content": {"application/link-format": {"schema": {"type": "string"}},
                         "application/json": {"schema": _ref("TimeMapJson")}}},
            [_p("fmt", "link or json", {"enum": ["link", "json"]}), _URL_PATH],
        ),
        "/records/{ts}/{url}": _get(
            "a parsed-record memento: the as-of record at that capture (the AsOf shape plus `memento`), "
            "with Memento-Datetime and Link headers",
            _json("AsOf"),
            [_TS, _URL_PATH],
        ),
    }
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "pagetrail",
            "version": __version__,
            "description": "Read-only by default. Every JSON answer has an ETag; errors are {\"error\": message}. "
            "Times are UTC ISO 8601 with Z. Endpoints that change anything need the server's api_token as "
            "'Authorization: Bearer <token>'.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    if server:
        out["servers"] = [{"url": server}]
    return out

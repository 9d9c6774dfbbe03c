"""The JSON API over HTTP (Starlette's test client), on SQLite and PostgreSQL: shapes, filters,
pagination, ETag/304, errors as JSON, the token for writes, and the OpenAPI description kept in
step with the routes the app really serves."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from jsonschema import Draft202012Validator

from pagetrail.web import create_app
from pagetrail.web.openapi import spec
from storage import schedules
from tests.web_fixtures import (  # noqa: F401 - fixtures
    ARTICLE,
    ENCODED,
    HOSTILE,
    OTHER,
    P3,
    TOKEN,
    client,
    token_client,
    web_archive,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SPEC = spec()


def validate(data: object, schema_name: str) -> None:
    """Validate against a component schema of the served OpenAPI description."""
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    Draft202012Validator(root).validate(data)


def get_json(client, path: str, status: int = 200, **params):  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


# ---- shapes ---------------------------------------------------------------------------------------

def test_health_and_status(client):
    h = get_json(client, "/api/health")
    validate(h, "Health")
    assert h["status"] == "ok" and h["schema"] == h["schema_expected"]
    st = get_json(client, "/api/status")
    validate(st, "Status")
    assert st["totals"] == {"pages": 4, "captures": 9, "revisions": 6, "comments": 10}
    assert st["last_capture_at"] == "2019-06-05T12:00:00Z"
    m = client.get("/api/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    assert re.search(r"^pagetrail_captures 9$", m.text, re.M)
    assert re.search(r"^pagetrail_storage_keyframes \d+$", m.text, re.M)


def test_sites(client):
    data = get_json(client, "/api/sites")
    validate(data, "Sites")
    assert [(s["host"], s["pages"], s["captures"]) for s in data["items"]] == [
        ("example.org", 2, 2), ("www.wisegeek.com", 2, 7)
    ]


def test_pages_filters_and_pagination(client):
    first = get_json(client, "/api/pages", limit=2)
    validate(first, "PageList")
    assert first["total"] == 4 and len(first["items"]) == 2
    assert first["next"] and "offset=2" in first["next"]
    r = client.get("/api/pages", params={"limit": 2})
    assert 'rel="next"' in r.headers["link"]
    second = client.get(first["next"]).json()
    assert second["next"] is None
    urls = [p["url"] for p in first["items"] + second["items"]]
    assert urls == sorted(urls) and set(urls) == {ARTICLE, HOSTILE, OTHER, ENCODED}

    assert [p["url"] for p in get_json(client, "/api/pages", site="example.org")["items"]] == [ENCODED, OTHER]
    # q matches the URL or any revision's title, case-insensitively; % is literal.
    assert [p["url"] for p in get_json(client, "/api/pages", q="TREATING")["items"]] == [ARTICLE]
    assert get_json(client, "/api/pages", q="%")["total"] == 0
    assert {p["url"] for p in get_json(client, "/api/pages", has_comments="false")["items"]} == {OTHER, ENCODED}
    assert [p["url"] for p in get_json(client, "/api/pages", changed_since="2019-06-04")["items"]] == [ARTICLE]
    top = get_json(client, "/api/pages", sort="revisions")["items"][0]
    assert (top["url"], top["revisions"], top["comments"], top["title"]) == (
        ARTICLE, 3, 3, "Treating Liver Calcification"
    )


def test_history_captures_as_of(client):
    h = get_json(client, "/api/history", url=ARTICLE)
    validate(h, "History")
    assert [r["revision"] for r in h["revisions"]] == [1, 2, 3]
    caps = get_json(client, "/api/captures", url=ARTICLE)
    validate(caps, "Captures")
    assert [(c["status"], c["outcome"], c["revision"]) for c in caps["items"]] == [
        (200, "new_revision", 1), (200, "unchanged", 1), (200, "new_revision", 2),
        (304, "not_modified", 2), (200, "new_revision", 3),
    ]
    v = get_json(client, "/api/as-of", url=ARTICLE, at="2019-06-02")
    validate(v, "AsOf")
    assert v["revision"]["revision"] == 1
    assert [c["key"] for c in v["comments"]] == ["post_2", "post_1"]
    assert v["ads"][0]["text"] == "Fact two"
    # An alias-free, differently written URL resolves through the normalizer.
    assert get_json(client, "/api/as-of", url=ARTICLE.upper().replace("HTTP://WWW", "http://www").replace(
        ".HTM", ".htm").replace("WHAT-IS-LIVER-CALCIFICATION", "what-is-liver-calcification"))["url"] == ARTICLE


def test_diff_with_word_level_side_by_side(client):
    d = get_json(client, "/api/diff", url=ARTICLE)  # default: the last two revisions
    validate(d, "Diff")
    assert (d["from"]["revision"], d["to"]["revision"]) == (2, 3)
    assert [row["kind"] for row in d["side_by_side"]] == ["equal", "equal", "inserted"]
    assert d["side_by_side"][2]["to"] == [["ins", P3]]
    d12 = get_json(client, "/api/diff", url=ARTICLE, **{"from": "1", "to": "2"})
    changed = [r for r in d12["side_by_side"] if r["kind"] == "changed"]
    assert len(changed) == 1 and ["ins", " and on the patient's age"] in changed[0]["to"]
    assert d12["metadata"]["title"] == {
        "from": "What Is the Treatment for Liver Calcification?", "to": "Treating Liver Calcification"
    }
    assert [e["key"] for e in d12["comments_edited"]] == ["post_1"]
    # the same diff by the revisions' stable refs, as history lists them
    refs = [r["ref"] for r in get_json(client, "/api/history", url=ARTICLE)["revisions"]]
    by_ref = get_json(client, "/api/diff", url=ARTICLE, **{"from": refs[0], "to": refs[1]})
    assert (by_ref["from"]["ref"], by_ref["to"]["ref"]) == (refs[0], refs[1])
    assert by_ref["side_by_side"] == d12["side_by_side"]
    other_uid = get_json(client, "/api/history", url=OTHER)["page_uid"]
    refused = get_json(client, "/api/diff", 404, url=ARTICLE, **{"from": f"{other_uid}:1"})
    assert OTHER in refused["error"] and "belongs to" in refused["error"]


def test_comment_timeline(client):
    data = get_json(client, "/api/comments", url=ARTICLE)
    validate(data, "CommentTimeline")
    assert [(e["at"][:10], e["kind"], e["key"]) for e in data["events"]] == [
        ("2019-06-01", "added", "post_1"),
        ("2019-06-02", "added", "post_2"),
        ("2019-06-03", "edited", "post_1"),
        ("2019-06-05", "added", "post_3"),
        ("2019-06-05", "removed", "post_2"),
    ]
    assert [c["visible"] for c in data["counts"]] == [1, 2, 2, 2]
    post1 = next(c for c in data["comments"] if c["key"] == "post_1")
    assert [v["text"] for v in post1["versions"]] == ["First!", "First! (edited)"]


def test_search(client):
    data = get_json(client, "/api/search", q="calcium")
    validate(data, "Search")
    assert data["hits"] and data["hits"][0]["url"] == ARTICLE and "**" in data["hits"][0]["snippet"]


# ---- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path,params,status,words",
    [
        ("/api/history", {}, 400, "url is required"),
        ("/api/history", {"url": "http://www.wisegeek.com/never.htm"}, 404, "pagetrail crawl"),
        ("/api/history", {"url": "not a url"}, 404, "full http(s) URL"),
        ("/api/as-of", {"url": ARTICLE, "at": "2019-05-01"}, 404, "first revision is from 2019-06-01T12:00:00Z"),
        ("/api/as-of", {"url": ARTICLE, "at": "yesterday"}, 400, "YYYY-MM-DD"),
        ("/api/diff", {"url": ARTICLE, "from": "9"}, 404, "revisions 1 to 3"),
        ("/api/pages", {"sort": "size"}, 400, "sort must be one of"),
        ("/api/pages", {"limit": "0"}, 400, "between 1 and 500"),
        ("/api/pages", {"has_comments": "maybe"}, 400, "true or false"),
        ("/api/search", {"q": "!!"}, 400, "at least one word"),
        ("/api/nothing-here", {}, 404, "openapi.json"),
    ],
)
def test_errors_are_json_with_a_message(client, path, params, status, words):
    r = client.get(path, params=params)
    assert r.status_code == status
    body = r.json()
    assert list(body) == ["error"] and words in body["error"]
    validate(body, "Error")


def test_wrong_method_is_json_405(client):
    r = client.delete("/api/pages")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]


# ---- ETags --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,params", [
    ("/api/history", {"url": ARTICLE}),
    ("/api/pages", {"limit": "2"}),
    ("/api/openapi.json", {}),
])
def test_etag_and_304(client, path, params):
    r = client.get(path, params=params)
    etag = r.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert client.get(path, params=params).headers["etag"] == etag  # stable
    r304 = client.get(path, params=params, headers={"If-None-Match": etag})
    assert r304.status_code == 304 and r304.content == b"" and r304.headers["etag"] == etag
    weak = client.get(path, params=params, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304  # If-None-Match uses the weak comparison
    assert client.get(path, params=params, headers={"If-None-Match": '"stale"'}).status_code == 200


# ---- writes need the token -----------------------------------------------------------------------------

def _add_schedule(web_archive, name: str) -> None:
    with web_archive.sessions.begin() as s:
        schedules.put(s, name, {"seeds": [ARTICLE], "every": "1d"}, datetime.now(timezone.utc), replace=True)


def test_writes_refused_without_configured_token(client, web_archive):
    _add_schedule(web_archive, "nightly-ro")
    r = client.post("/api/schedules/nightly-ro/pause", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 403 and "read-only" in r.json()["error"] and "api_token" in r.json()["error"]
    assert get_json(client, "/api/schedules")["items"][0]["paused"] is False


def test_writes_need_the_right_bearer_token(token_client, web_archive):
    _add_schedule(web_archive, "nightly")
    url = "/api/schedules/nightly/pause"
    missing = token_client.post(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in missing.json()["error"]
    wrong = token_client.post(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]
    ok = token_client.post(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    validate(ok.json(), "Schedule")
    assert ok.json()["paused"] is True
    listed = {s["name"]: s for s in get_json(token_client, "/api/schedules")["items"]}
    validate({"items": list(listed.values())}, "Schedules")
    assert listed["nightly"]["paused"] is True
    resumed = token_client.post("/api/schedules/nightly/resume", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resumed.json()["paused"] is False
    unknown = token_client.post("/api/schedules/nope/pause", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unknown.status_code == 404 and "schedule add" in unknown.json()["error"]
    # A GET on a write endpoint changes nothing.
    assert token_client.get(url).status_code == 405


# ---- OpenAPI in step with the app ------------------------------------------------------------------------

_DOCUMENTED = ("/api/", "/timegate/", "/timemap/", "/web/", "/records/")


def _app_routes(app) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, set[str]] = {}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(_DOCUMENTED):
            continue
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        out[template] = {m.lower() for m in (route.methods or set())} - {"head"}
    return out


def test_openapi_lists_exactly_the_served_routes(web_archive):
    app = create_app(web_archive)
    served = _app_routes(app)
    assert set(served) == set(SPEC["paths"]), "openapi.py and the routes differ"
    for path, methods in served.items():
        assert methods == set(SPEC["paths"][path]), path
    for path, item in SPEC["paths"].items():
        for op in item.values():
            assert op["summary"] and op["responses"], path


def test_openapi_is_served_and_refs_resolve(client):
    served = get_json(client, "/api/openapi.json")
    assert served["openapi"].startswith("3.1") and served["paths"].keys() == SPEC["paths"].keys()
    assert served["servers"] == [{"url": "http://testserver"}]
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', str(served).replace("'", '"')))
    assert refs <= set(served["components"]["schemas"])
    for name, schema in served["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)

"""A fake GitHub REST API over real HTTP: the one the proposal, CI and workflow tests share.

It keeps state the way GitHub does for what experimentos calls: pull requests (open, list by
head, get, update, close; a second open pull request for a head is refused with 422), issue
comments (paged lists, create, edit), workflow dispatches, commit statuses, and the Pages site.
Every request is recorded (method, path, headers, JSON body). Given a bare repository, a pull
request's `head.sha` is read from it, as GitHub reads it from its own.

Knobs for failure tests: `fail` answers every write with that status (`echo` puts the
request's Authorization header into the answer, as some proxies do); `refuse_writes` answers
writes with 403 like a fork's read-only token; `existing` seeds open pull requests.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/api/v3"  # as GitHub Enterprise serves it: the client must keep the base path


class FakeGitHub:
    def __init__(
        self,
        existing: list[dict] | None = None,
        fail: int | None = None,
        echo: bool = False,
        *,
        comments: list[dict] | None = None,
        refuse_writes: bool = False,
        bare: Path | None = None,
        pages_url: str | None = None,
        owner: str = "acme",
        repo: str = "kb",
    ):
        self.requests: list[dict] = []
        self.fail = fail
        self.echo = echo
        self.refuse_writes = refuse_writes
        self.bare = bare
        self.pages_url = pages_url
        self.slug = f"{owner}/{repo}"
        self.pulls: list[dict] = []
        self.comments: dict[int, list[dict]] = {}
        self.dispatches: list[dict] = []
        self.statuses: list[dict] = []
        self._next_pull = 7
        self._next_comment = 1000
        self._lock = threading.Lock()
        for item in existing or []:
            self.pulls.append(
                {
                    "number": item["number"],
                    "html_url": item["html_url"],
                    "head": item.get("head"),  # None: any head (an unknown open one)
                    "base": item.get("base", "main"),
                    "title": item.get("title", ""),
                    "body": item.get("body", ""),
                    "state": "open",
                }
            )
        if comments:
            self.comments[7] = list(comments)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: ANN002 - keep test output clean
                pass

            def _answer(self, code: int, data=None) -> None:  # noqa: ANN001
                body = json.dumps(data).encode() if data is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                entry = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw) if raw else None,
                }
                fake.requests.append(entry)
                return entry

            def _route(self) -> None:
                entry = self._record()
                with fake._lock:
                    code, data = fake.handle(entry)
                self._answer(code, data)

            do_GET = do_POST = do_PATCH = _route  # noqa: N815 - http.server naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    # --- what a test reads back ---------------------------------------------------------------

    def open_pulls(self, head: str | None = None) -> list[dict]:
        return [
            p for p in self.pulls if p["state"] == "open" and (head is None or p["head"] == head)
        ]

    def comments_on(self, number: int) -> list[dict]:
        return list(self.comments.get(number, []))

    def open_pull(self, head: str, base: str = "main", title: str = "a pull request") -> int:
        """A pull request a person opened (not through the API client under test)."""
        with self._lock:
            code, data = self._create_pull({"head": head, "base": base, "title": title})
        assert code == 201, data
        return data["number"]

    def writes(self) -> list[dict]:
        return [r for r in self.requests if r["method"] != "GET"]

    # --- the API --------------------------------------------------------------------------------

    def _sha(self, branch: str | None) -> str | None:
        if self.bare is None or not branch:
            return None
        done = subprocess.run(
            [
                "git",
                "-C",
                str(self.bare),
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{branch}",
            ],
            capture_output=True,
            text=True,
        )
        return done.stdout.strip() or None

    def _pull_json(self, pull: dict) -> dict:
        return {
            "number": pull["number"],
            "html_url": pull["html_url"],
            "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"],
            "head": {"ref": pull["head"], "sha": self._sha(pull["head"])},
            "base": {"ref": pull["base"]},
        }

    def handle(self, entry: dict) -> tuple[int, object]:
        method = entry["method"]
        url = urllib.parse.urlsplit(entry["path"])
        path = url.path.removeprefix(PREFIX)
        query = urllib.parse.parse_qs(url.query)
        body = entry["json"] or {}
        if method != "GET":
            if self.fail:
                message = "Server Error"
                errors = []
                if self.echo:
                    auth = entry["headers"]["Authorization"]
                    message = f"Bad credentials (you sent Authorization: {auth})"
                    errors = [{"message": f"token {auth.split()[-1]} revoked"}]
                return self.fail, {"message": message, "errors": errors}
            if self.refuse_writes:
                return 403, {"message": "Resource not accessible by integration"}
        base = f"/repos/{self.slug}"
        if not path.startswith(base):
            return 404, {"message": "Not Found"}
        rest = path[len(base) :]
        parts = [p for p in rest.split("/") if p]
        if parts == ["pulls"] and method == "POST":
            return self._create_pull(body)
        if parts == ["pulls"] and method == "GET":
            head = query.get("head", [""])[0].partition(":")[2]
            state = query.get("state", ["open"])[0]
            found = [
                p
                for p in self.pulls
                if (state == "all" or p["state"] == state) and (p["head"] in (head, None))
            ]
            return 200, [self._pull_json(p) for p in found]
        if len(parts) == 2 and parts[0] == "pulls":
            pull = next((p for p in self.pulls if p["number"] == int(parts[1])), None)
            if pull is None:
                return 404, {"message": "Not Found"}
            if method == "PATCH":
                for key in ("title", "body", "state"):
                    if key in body:
                        pull[key] = body[key]
            return 200, self._pull_json(pull)
        if len(parts) == 3 and parts[0] == "issues" and parts[2] == "comments":
            number = int(parts[1])
            comments = self.comments.setdefault(number, [])
            if method == "POST":
                self._next_comment += 1
                cid = self._next_comment
                new = {
                    "id": cid,
                    "body": body["body"],
                    "html_url": f"https://github.com/{self.slug}/pull/{number}#issuecomment-{cid}",
                }
                comments.append(new)
                return 201, new
            page = int(query.get("page", ["1"])[0])
            per = int(query.get("per_page", ["30"])[0])
            return 200, comments[(page - 1) * per : page * per]
        if len(parts) == 3 and parts[:2] == ["issues", "comments"] and method == "PATCH":
            cid = int(parts[2])
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == cid:
                        comment["body"] = body["body"]
                        return 200, comment
            return 404, {"message": "Not Found"}
        if parts[:2] == ["actions", "workflows"] and parts[-1] == "dispatches":
            self.dispatches.append({"workflow": parts[2], **body})
            return 204, None
        if len(parts) == 2 and parts[0] == "statuses":
            self.statuses.append({"sha": parts[1], **body})
            return 201, {"state": body.get("state")}
        if parts == ["pages"]:
            if self.pages_url is None:
                return 404, {"message": "Not Found"}
            return 200, {"html_url": self.pages_url}
        return 404, {"message": "Not Found"}

    def _create_pull(self, body: dict) -> tuple[int, object]:
        if any(p["head"] in (body["head"], None) for p in self.open_pulls()):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"message": f"A pull request already exists for {body['head']}."}],
            }
        number = self._next_pull
        self._next_pull += 1
        pull = {
            "number": number,
            "html_url": f"https://github.com/{self.slug}/pull/{number}",
            "head": body["head"],
            "base": body["base"],
            "title": body["title"],
            "body": body.get("body", ""),
            "state": "open",
        }
        self.pulls.append(pull)
        return 201, self._pull_json(pull)

"""Which way a version goes and whose it is: the package a version belongs to when none is
named (the thread's library; in a maintainer's release talk the repository's own package), and
the kind of the act on it (upgrade, downgrade, pin) from its word of direction, its operator,
or the versions the thread reports broken or fixed (see versions.py)."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest.vocab import Context, Kind, version_of


def _same_package(repo: str, library: str | None) -> bool:
    if library is None:
        return False

    return repo_package(repo) == repo_package(library)


def repo_package(repo: str) -> str:
    """The package a repository publishes, by its name without the ecosystem's affixes:
    node-redis -> redis, anthropic-sdk-python -> anthropic, pyyaml stays pyyaml."""
    name = re.sub(r"^(?:node|py|python|js)[-_.]", "", repo.lower())
    return re.sub(r"(?:[-_.](?:sdk|client|lib))?[-_.](?:js|py|python|node|sdk)$", "", name)


# Words that make a repository's name a phrase (a course, an app, a book's code), not a package:
# "mongo-for-beginners", "graphql-with-node-workshop", "learn-the-web-in-ten-days".
_PROSE_PART_RE = re.compile(
    r"(?:^|[-_.])(?:for|with|and|the|to|of|in|from|into|learn|learning|tutorials?|course|"
    r"examples?|samples?|demos?|workshop|book|starter|boilerplate)(?=$|[-_.])",
    re.IGNORECASE,
)


def prose_name(repo: str) -> bool:
    """Whether a repository's name is a phrase, never a package to install."""
    # four words at least: "p-wait-for", "html-to-text" are packages
    return len(re.split(r"[-_.]", repo)) >= 4 and bool(_PROSE_PART_RE.search(repo))


def published_name(repo: str, text: str) -> str | None:
    """The package a repository publishes, as the thread would name it: the repository's name
    when the thread writes it, else without an ecosystem affix ("lzutf8.js", "x-js", "js-x",
    "x.py" publish x); None for a repository named in prose."""
    if re.search(rf"(?<![\w.-]){re.escape(repo)}(?![\w-])", text, re.IGNORECASE):
        return repo.lower()
    if prose_name(repo):
        return None
    return re.sub(r"^js[-_]|[-_.](?:js|py)$", "", repo.lower()) or repo.lower()


def resolve(lib: str | None, ctx: Context, announce: bool) -> str | None:
    if lib is not None:
        lib = lib.strip("'\"")
        if lib.lower() in ("it", "this", "them"):
            lib = None
    if lib is None:
        if announce and ctx.maintainer:
            # the repository's package, under the name the thread uses for it when they are
            # one package (node-pg-types publishes pg-types, anthropic-sdk-python anthropic)
            if _same_package(ctx.package, ctx.library):
                return ctx.library
            return repo_package(ctx.package) if not prose_name(ctx.package) else ctx.library
        # a maintainer's version with no package named, in a thread that names none: theirs
        if prose_name(ctx.package):
            return ctx.library  # a course's or an app's repository publishes nothing
        return ctx.library or (ctx.package if announce or ctx.maintainer else None)
    return lib


def kind_of(group: str | None, op: str | None, ver: str, lib: str, ctx: Context) -> Kind | None:
    if op == "range":  # bounded on both sides: going back when said so, else holding
        return {"up": "upgrade", "back": "downgrade"}.get(group or "", "pin")  # type: ignore[return-value]
    if group == "back" and op in ("<", "<=", "=<", "^", "~", "~="):
        return "downgrade"  # "downgrade to the version before v5", "downgraded to `x@^3.3.4`"
    if op in ("<", "<=", "~=", "^", "~", "=<", "!="):
        return "pin"
    if group == "pin":
        return "pin"
    if group == "back":
        return "downgrade"
    if ver.lower() in ("latest", "next", "canary", "beta", "rc", "alpha"):
        return "upgrade"
    if op in (">=", "=>", ">"):
        return "upgrade"
    if group == "up":
        # "upgrade to 4.1.9" when 4.2.0 is the version the thread reports broken: whatever the
        # verb says, the versions say it goes back; but "upgrade to 1.9.8" with 2.0.2 broken
        # names the backport on an older line, an upgrade for those on it
        below = _below_affected(ver, lib, ctx) and not _older_line(ver, lib, ctx)
        return "downgrade" if below else "upgrade"
    parsed = version_of(ver)
    if parsed is not None and parsed.is_prerelease:
        return "upgrade"  # nobody goes back to a release candidate
    if ctx.maintainer and lib == ctx.package and not _below_affected(ver, lib, ctx):
        # a maintainer pointing at their own release; but "use nanoid@3 for legacy projects",
        # below every version the thread reports broken, sends the user back
        return "upgrade"
    return _compare(ver, lib, ctx)


def _below_affected(ver: str, lib: str, ctx: Context) -> bool:
    from experimentos.repofacts.facts import python_key

    target = version_of(ver)
    affected = [v for v in (version_of(a) for a in ctx.affected.get(python_key(lib), [])) if v]
    return target is not None and bool(affected) and target < min(affected)


def _older_line(ver: str, lib: str, ctx: Context) -> bool:
    """Whether `ver` is a release on an older line than every version reported broken (another
    major, or for 0.x another minor): a backport."""
    from experimentos.repofacts.facts import python_key

    def line(v) -> tuple[int, ...]:
        release = tuple(v.release) + (0, 0)
        return release[:2] if release[0] == 0 else release[:1]

    target = version_of(ver)
    affected = [v for v in (version_of(a) for a in ctx.affected.get(python_key(lib), [])) if v]
    if target is None or len(target.release) < 2 or "." not in ver:
        return False  # "move to version 3" names a line to go back to, not a backport release
    return bool(affected) and line(target) < line(min(affected))


def _compare(ver: str, lib: str, ctx: Context) -> Kind:
    """Neither verb nor operator says which way: compare with what the thread reports."""
    from experimentos.repofacts.facts import python_key

    target = version_of(ver)
    key = python_key(lib)
    fixed = [v for v in (version_of(f) for f in ctx.fixed.get(key, [])) if v is not None]
    affected = [v for v in (version_of(a) for a in ctx.affected.get(key, [])) if v is not None]
    if target is None:
        return "downgrade"
    if any(target == f or target.release[: len(f.release)] == f.release for f in fixed):
        return "upgrade"
    if affected and target < min(affected):
        return "downgrade"
    if affected and target >= max(affected):
        return "upgrade"
    if lib == ctx.package and lib != ctx.library:
        return "upgrade"
    return "downgrade"


def target_of(kind: Kind, op: str | None, ver: str) -> str:
    ver = ver.strip()
    if op == "range":
        return ver
    if ver.lower() in ("latest", "lts", "next", "canary", "beta", "cjs"):
        return ver.lower()
    clean = ver.lstrip("vV")
    clean = re.sub(r"(?i)(\.x{1,2}|\.\*)+$", "", clean)
    if op in ("<", "<=", "~=", "^", "~", "!=", "=<", ">=", "=>", ">"):
        op = {"=<": "<=", "=>": ">="}.get(op, op)
        return f"{op}{clean}"
    return clean


def line_spec(ver: str) -> str:
    clean = ver.lstrip("vV")
    if re.search(r"\.[xX*]", clean) or re.fullmatch(r"\d+", clean):
        return ">=" + re.sub(r"(\.[xX*]{1,2})+$", "", clean)
    return clean


def reported_broken(lib: str, ver: str, ctx: Context) -> bool:
    """Whether the thread reports `ver` of `lib` broken."""
    from experimentos.repofacts.facts import python_key

    return ver.lstrip("vV=") in {a.lstrip("vV") for a in ctx.affected.get(python_key(lib), [])}

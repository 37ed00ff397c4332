"""Which words next to a version can name a package: not the words that precede versions in
prose ("to", "since", "till"), nor the runtimes and tools bug templates name with their own
versions, nor manifests, versions, environment variables or errors. mentions.py and general.py
read names with it."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest.vocab import MANIFEST


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that precede versions but are not packages, and runtimes and tools named next to their
# own version in bug templates ("Node 20.11.1", "macOS 14.2", "Python 3.11").
NOT_LIBRARIES = _words(
    """to on in at from of and or with version versions v is was be the a an release releases
    since after before until till upto through thru than via using use upgrade upgrading upgraded
    downgrade downgrading
    pin pinning pinned bump bumping update updating fixed fix latest back stay still also same
    here tried try works worked broken broke node nodejs node.js python py python3 npm npx pnpm
    yarn pip pip3 bun deno os macos mac windows win ubuntu linux debian fedora alpine chrome
    firefox safari edge ios android typescript tsc ts go golang rust rustc java jdk docker
    kubernetes postgres postgresql mysql sqlite redis cuda cudnn gcc clang xcode vscode vs code
    ide cpu gpu arm64 x64 x86_64 amd64 browser engine runtime environment env and/or no not
    has have had for but so we i you they he she our my your its are were been being do does did
    just only even like as by new old any all some every each both first last next previous
    current installed running run used got get see saw then now stable beta alpha rc pre dev
    wheel wheels here there it this that these those them library lib package am im i'm about
    around approximately than error errors issue bug problem tag version: currently right
    python.pillow openssl libressl glibc musl chromium electron lts project projects app apps
    older newer earlier later previous fixed broken working buggy their his her dependency
    install installing uninstall add seems chooses migrate download downloaded downloading
    dependencies deps dep why what how which who whom whose where whether because though
    although support supports keep keeps need needs want wants require prefer
    recommend suggest move moved switch remove drop release publish ship deprecate break breaks
    change changes happen happens stick revert restore branch branches line series mode api esm
    cjs commonjs module modules build builds option options config"""
)


def plausible_name(name: str) -> bool:
    """Whether a word next to a version can be a package name ("getting 1.0.2" cannot)."""
    if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", name.strip("`'\"")):
        return False  # "AWS_X_SUPPRESS=1 node app.js": an environment variable, not a package
    low = name.lower().rstrip(":")
    if re.fullmatch(MANIFEST, low.strip("_*`'\""), re.IGNORECASE):
        return False  # "in my package.json to 2.1.x": the file the version is written in
    if re.fullmatch(r"v?\d[\w.]*", low):
        return False  # "v5 4.0.3": a version, not a package
    if re.search(r"(?:update|upgrade|downgrade|bump|install)$", low):
        return False  # "The auto-update to 1.1.1 broke …"
    if low in NOT_LIBRARIES or re.search(r"(?:error|exception|warning)$", low):
        return False  # "ModuleNotFoundError version 0.2.0" names an error, not a package
    return not (re.fullmatch(r"[a-z]+", low) and low.endswith(("ing", "ed", "ly")) and len(low) > 4)

"""The caresim version: the one source that pyproject.toml (``dynamic``), the
manifests, ``caresim --version`` and CITATION.cff read (a test checks they
agree). Bump it with each release and note the release in CHANGELOG.md."""

__version__ = "0.2.0.dev0"

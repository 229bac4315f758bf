"""Results as data: a columnar table that pandas reads directly."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from . import files


class Table:
    """A columnar table: a dict of equal-length numpy arrays, one row per record."""

    def __init__(self, columns: Mapping[str, Any]):
        self.columns: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: { {k: len(v) for k, v in self.columns.items()} }")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns[key]

    def __contains__(self, key: str) -> bool:
        return key in self.columns

    def keys(self):
        return self.columns.keys()

    def to_dict(self) -> dict[str, np.ndarray]:
        return dict(self.columns)

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame(self.columns)

    def rows(self) -> Iterator[dict[str, Any]]:
        keys = list(self.columns)
        for vals in zip(*(self.columns[k].tolist() for k in keys)):
            yield dict(zip(keys, vals))

    def write_csv(self, path: str | Path) -> Path:
        """The table as a CSV file, atomically (the cell convention of :mod:`sim.files`)."""
        return files.write_csv(path, self.columns)

    @classmethod
    def read_csv(cls, path: str | Path, text: Iterable[str] = ()) -> "Table":
        """A CSV file written by :meth:`write_csv` (``text``: columns kept as text)."""
        return cls(files.read_csv(path, text))

    @classmethod
    def from_rows(cls, rows: list[Mapping[str, Any]]) -> "Table":
        if not rows:
            return cls({})
        keys = list(rows[0])
        return cls({k: np.array([r.get(k) for r in rows]) for k in keys})

    def __repr__(self) -> str:
        return f"Table({len(self)} rows x {len(self.columns)} columns: {', '.join(list(self.columns)[:8])}...)"

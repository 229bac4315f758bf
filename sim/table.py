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
        """A pandas DataFrame of the columns, date columns (``date``,
        ``*_date``) as datetime64 (:func:`sim.files.with_dates`)."""
        import pandas as pd
        return files.with_dates(pd.DataFrame(self.columns))

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

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter: the first and last rows (all up to
        :data:`HTML_ROWS`), every column, and the size."""
        return html_table(self.columns, len(self))


#: rows a notebook shows of a Table before it shortens it to the first and last half
HTML_ROWS = 20


def html_table(columns: Mapping[str, np.ndarray], n: int, max_rows: int = HTML_ROWS) -> str:
    """``columns`` (``n`` rows) as an HTML table; longer than ``max_rows`` it
    shows the first and the last ``max_rows // 2`` with a row of dots between."""
    import html

    names = list(columns)
    shown = list(range(n)) if n <= max_rows else [*range(max_rows // 2), -1, *range(n - max_rows // 2, n)]

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{v:.6g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in names)
    body = []
    for i in shown:
        cells = ("<td>...</td>" * len(names)) if i < 0 else "".join(f"<td>{cell(columns[k][i])}</td>" for k in names)
        body.append(f"<tr><th>{'' if i < 0 else i}</th>{cells}</tr>")
    return (f'<table class="caresim-table"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}'
            f"</tbody></table><p>sim.Table: {n:,} rows x {len(names)} columns</p>")

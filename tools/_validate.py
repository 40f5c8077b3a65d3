"""Input checks shared by the tools: turn arrays into clean float matrices or raise ToolInputError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.results import ToolInputError


def as_float_array(values: object, name: str, *, ndim: tuple[int, ...] = (1,), allow_nan: bool = False) -> np.ndarray:
    """``values`` as a float array of an allowed rank; inf (and NaN unless allowed) raise ToolInputError."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ToolInputError(f"{name} must be numeric, got {type(values).__name__}: {exc}") from exc
    if arr.ndim not in ndim:
        raise ToolInputError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ToolInputError(f"{name} contains inf")
    if not allow_nan and np.isnan(arr).any():
        raise ToolInputError(f"{name} contains NaN")
    return arr


def as_matrix(values: object, name: str, *, allow_nan: bool = True) -> np.ndarray:
    """A 1-D or 2-D numeric array as an (n, d) float matrix (1-D becomes one column)."""
    arr = as_float_array(values, name, ndim=(1, 2), allow_nan=allow_nan)
    return arr[:, None] if arr.ndim == 1 else arr


def column_names(feature_names: Sequence[str] | None, d: int) -> list[str]:
    """The given feature names checked against ``d`` columns, or ``feature_0..`` by default."""
    if feature_names is None:
        return [f"feature_{i}" for i in range(d)]
    names = list(feature_names)
    if len(names) != d:
        raise ToolInputError(f"feature_names has {len(names)} names for {d} columns")
    if not all(isinstance(n, str) for n in names):
        raise ToolInputError("feature_names must be strings")
    if len(set(names)) != len(names):
        raise ToolInputError("feature_names contains duplicates")
    return names


def paired_matrices(
    reference: object, current: object, feature_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reference and current windows as (n, d) matrices with the same columns, plus the column names."""
    ref = as_matrix(reference, "reference")
    cur = as_matrix(current, "current")
    if ref.shape[1] != cur.shape[1]:
        raise ToolInputError(f"reference has {ref.shape[1]} columns but current has {cur.shape[1]}")
    return ref, cur, column_names(feature_names, ref.shape[1])


def binary_labels(values: object, name: str) -> np.ndarray:
    """A 1-D array of 0/1 labels (bools or numbers) as int, or ToolInputError."""
    arr = as_float_array(values, name)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ToolInputError(f"{name} must contain only 0 and 1")
    return arr.astype(int)


def positive_number(value: object, name: str) -> float:
    """A finite number > 0, or ToolInputError."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ToolInputError(f"{name} must be a number, got {value!r}") from exc
    if not np.isfinite(number) or number <= 0:
        raise ToolInputError(f"{name} must be finite and > 0, got {value!r}")
    return number


def probability(value: object, name: str, *, inclusive: bool = False) -> float:
    """A number in (0, 1) (or [0, 1] when inclusive), or ToolInputError."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ToolInputError(f"{name} must be a number, got {value!r}") from exc
    ok = 0.0 <= number <= 1.0 if inclusive else 0.0 < number < 1.0
    if not ok:
        raise ToolInputError(f"{name} must be in {'[0, 1]' if inclusive else '(0, 1)'}, got {value!r}")
    return number

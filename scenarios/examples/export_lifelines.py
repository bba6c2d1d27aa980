"""Write the public survival cohorts that lifelines and scikit-survival ship as the small CSVs beside this file.

    python scenarios/examples/export_lifelines.py

The CSVs are what a user would bring: follow-up in weeks (rossi), days (lung, kidney_transplant, gbsg2) or
months (larynx), missing values as empty cells (lung, flchain), 0/1 codes, ``True``/``False`` event labels
(scikit-survival's flchain and whas500) and text labels as the sources have them.
Integer-valued float columns (lung's ECOG score, Karnofsky scores) are written without a trailing ``.0``.
"""

from __future__ import annotations

from pathlib import Path

import lifelines.datasets as ds
import pandas as pd
from sksurv import datasets as sksurv_ds

HERE = Path(__file__).resolve().parent
COHORTS = {
    "rossi_recidivism.csv": ds.load_rossi,
    "lung_ncctg.csv": ds.load_lung,
    "larynx_cancer.csv": ds.load_larynx,
    "kidney_transplant.csv": ds.load_kidney_transplant,
    "gbsg2_breast.csv": ds.load_gbsg2,
}


def _sksurv(load) -> pd.DataFrame:
    """A scikit-survival data set as one frame: features, then the event and time of its structured array."""
    x, y = load()
    frame = x.copy()
    for name in y.dtype.names:
        frame[name] = y[name]
    return frame


COHORTS |= {
    "flchain_mgus.csv": lambda: _sksurv(sksurv_ds.load_flchain),  # Dispenzieri et al. 2012, Olmsted County
    "whas500_heart_attack.csv": lambda: _sksurv(sksurv_ds.load_whas500),  # Worcester Heart Attack Study
}


def main() -> None:
    for name, load in COHORTS.items():
        df = load()
        for c in df.columns:
            if df[c].dtype.kind == "f" and (df[c].dropna() % 1 == 0).all():
                df[c] = df[c].astype("Int64")
        df.to_csv(HERE / name, index=False)
        print(f"{name}: {len(df)} rows, {int(df.isna().sum().sum())} missing values")


if __name__ == "__main__":
    main()

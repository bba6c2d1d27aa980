"""Write the public survival cohorts that lifelines ships as the small CSVs beside this file.

    python scenarios/examples/export_lifelines.py

The CSVs are what a user would bring: follow-up in weeks (rossi), days (lung, kidney_transplant, gbsg2) or
months (larynx), missing values as empty cells (lung), 0/1 codes and text labels as the sources have them.
Integer-valued float columns (lung's ECOG score, Karnofsky scores) are written without a trailing ``.0``.
"""

from __future__ import annotations

from pathlib import Path

import lifelines.datasets as ds

HERE = Path(__file__).resolve().parent
COHORTS = {
    "rossi_recidivism.csv": ds.load_rossi,
    "lung_ncctg.csv": ds.load_lung,
    "larynx_cancer.csv": ds.load_larynx,
    "kidney_transplant.csv": ds.load_kidney_transplant,
    "gbsg2_breast.csv": ds.load_gbsg2,
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

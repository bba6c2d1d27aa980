"""A realistic SEER*Stat case listing, as SEER*Stat exports it (labels, not codes), for tests.

Every variant a user meets: both race recodes, "Grade Recode (thru 2017)" long and short labels beside the
2018+ grade codes (each period "Blank(s)" in the other's variable), Combined Summary Stage, AJCC 6th/7th
groups before 2016 and 8th-edition groups from 2018, "Blank(s)", "Unknown", "UNK Stage", zero-padded survival
months and the four cause-specific status values. Survival depends on stage and grade, so the outcome is
learnable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

AGES = ["25-29 years", "30-34 years", "35-39 years", "40-44 years", "45-49 years", "50-54 years", "55-59 years",
        "60-64 years", "65-69 years", "70-74 years", "75-79 years", "80-84 years", "85+ years"]
LONG_GRADE = ["Well differentiated; Grade I", "Moderately differentiated; Grade II",
              "Poorly differentiated; Grade III", "Undifferentiated; anaplastic; Grade IV"]
SHORT_GRADE = ["Grade I", "Grade II", "Grade III", "Grade IV"]
AJCC = {1: ["IA", "IB", "INOS"], 2: ["IIA", "IIB"], 3: ["IIIA", "IIIB", "IIIC", "IIINOS"], 4: ["IV"]}
AJCC8 = {1: ["1A", "1B"], 2: ["2A", "2B"], 3: ["3A", "3B", "3C"], 4: ["4"]}
STATUS = {"cancer": "Dead (attributable to this cancer dx)", "other": "Alive or dead of other cause",
          "unknown_cod": "Dead (missing/unknown COD)", "not_first": "N/A not first tumor"}


def listing(n: int = 600, *, seed: int = 0, race_recode: str = "W, B, AI, API") -> pd.DataFrame:
    """``n`` cases diagnosed 2010-2015 or 2018-2020 with the variables of a typical breast listing."""
    rng = np.random.default_rng(seed)
    year = rng.choice([2010, 2011, 2012, 2013, 2014, 2015, 2018, 2019, 2020], n)
    new = year >= 2018
    stage_num = rng.choice([0, 1, 2, 3, 4], n, p=[0.05, 0.4, 0.3, 0.17, 0.08])
    grade_num = rng.choice([1, 2, 3, 4], n, p=[0.2, 0.45, 0.3, 0.05])
    months = np.minimum(rng.exponential(400 / (1 + stage_num**1.6 + grade_num / 2)), (2021 - year) * 12 - 1)
    cancer_death = rng.random(n) < 0.85 * (months < (2021 - year) * 12 - 2) * (stage_num >= 2)
    alive_other = ~cancer_death
    status = np.where(cancer_death, STATUS["cancer"], STATUS["other"]).astype(object)
    odd = rng.random(n)
    status[odd < 0.03] = STATUS["unknown_cod"]
    status[(odd >= 0.03) & (odd < 0.05)] = STATUS["not_first"]
    vital = np.where(cancer_death | (status == STATUS["unknown_cod"]) | (alive_other & (rng.random(n) < 0.1)),
                     "Dead", "Alive")

    def pick(options):
        return options[rng.integers(len(options))]

    grade_old = [("Blank(s)" if nw else (pick(["Unknown"]) if rng.random() < 0.06
                                        else (LONG_GRADE if rng.random() < 0.7 else SHORT_GRADE)[g - 1]))
                 for nw, g in zip(new, grade_num)]
    grade_new = [(("9" if rng.random() < 0.06 else str(min(g, 3))) if nw else "Blank(s)")
                 for nw, g in zip(new, grade_num)]
    stage7 = ["Blank(s)" if nw or y < 2010 else ("UNK Stage" if rng.random() < 0.05 else
                                                 ("0" if s == 0 else pick(AJCC[s])))
              for nw, y, s in zip(new, year, stage_num)]
    stage6 = ["Blank(s)" if nw else ("UNK Stage" if rng.random() < 0.05 else ("0" if s == 0 else pick(AJCC[s])))
              for nw, s in zip(new, stage_num)]
    stage8 = [("0" if s == 0 else pick(AJCC8[s])) if nw else "Blank(s)" for nw, s in zip(new, stage_num)]
    summary = np.array(["In situ", "Localized", "Regional", "Regional", "Distant"], dtype=object)[stage_num]
    summary[rng.random(n) < 0.04] = "Unknown/unstaged"
    size = rng.gamma(2.0, 12.0, n).round().astype(int).clip(1, 200)
    size_txt = np.array([f"{s:03d}" for s in size], dtype=object)
    size_txt[rng.random(n) < 0.05] = "999"
    size_old = np.where(new, "Blank(s)", size_txt)
    size_new = np.where(new, size_txt, "Blank(s)")
    if race_recode == "W, B, AI, API":
        races = ["White", "White", "White", "Black", "Asian or Pacific Islander", "American Indian/Alaska Native",
                 "Unknown"]
    else:
        races = ["White", "White", "White", "Black", "Other (American Indian/AK Native, Asian/Pacific Islander)",
                 "Unknown"]
    examined = rng.integers(0, 30, n).astype(object)
    examined[rng.random(n) < 0.05] = 98
    positive = np.minimum(rng.poisson(stage_num * 1.5), examined.astype(int)).astype(object)
    positive[rng.random(n) < 0.04] = 99
    return pd.DataFrame({
        "Patient ID": [f"{10_000_000 + i:08d}" for i in range(n)],
        "Age recode with <1 year olds": [pick(AGES) for _ in range(n)],
        "Sex": "Female",
        f"Race recode ({race_recode})": [pick(races) for _ in range(n)],
        "Year of diagnosis": year.astype(str),
        "Grade Recode (thru 2017)": grade_old,
        "Grade Pathological (2018+)": grade_new,
        "Combined Summary Stage (2004+)": summary,
        "Derived AJCC Stage Group, 7th ed (2010-2015)": stage7,
        "Derived AJCC Stage Group, 6th ed (2004-2015)": stage6,
        "Derived EOD 2018 Stage Group Recode (2018+)": stage8,
        "Survival months": [f"{int(m):04d}" for m in months],
        "Vital status recode (study cutoff used)": vital,
        "SEER cause-specific death classification": status,
        "Marital status at diagnosis": [pick(["Married (including common law)", "Single (never married)",
                                              "Divorced", "Widowed", "Unknown"]) for _ in range(n)],
        "ER Status Recode Breast Cancer (1990+)": [pick(["Positive", "Positive", "Negative", "Borderline/Unknown"])
                                                   for _ in range(n)],
        "PR Status Recode Breast Cancer (1990+)": [pick(["Positive", "Negative", "Recode not available"])
                                                   for _ in range(n)],
        "CS tumor size (2004-2015)": size_old,
        "Tumor Size Summary (2016+)": size_new,
        "Regional nodes examined (1988+)": [f"{v:02d}" for v in examined],
        "Regional nodes positive (1988+)": [f"{v:02d}" for v in positive],
    })


def write_listing(path: Path, df: pd.DataFrame) -> Path:
    """Write as SEER*Stat does: every value quoted, comma-separated (.csv) or tab-delimited (.txt)."""
    import csv

    sep = "\t" if Path(path).suffix == ".txt" else ","
    df.to_csv(path, index=False, sep=sep, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    return Path(path)

"""A plain pandas version of bench/pipeline_handwritten.sql + bench/judge_handwritten.sql (baseline (b) of
bench/scale_bench.py): read a `kasuhara synth` folder's CSVs, build the requesters' contacts with the same
simplifications as the hand-written SQL (see its header), apply the 9 Bunkyo rules with their episodes and
evidence, and write the flags to Parquet.

    python bench/pandas_pipeline.py SYNTH_DIR FLAGS.parquet

Times are kept naive (site time, Asia/Tokyo has no DST) and attached to the zone only on output. Sliding
windows ("any 24 hours", "any 30 days") are SQL RANGE windows, both ends included with ties: each row's
window is found with numpy.searchsorted on (group code, epoch seconds) instead of groupby().rolling(), which
is slower and leaves out rows that tie with the current one.
"""

import glob
import hashlib
import json
import resource
import sys
import time

import numpy as np
import pandas as pd

COLUMNS = (
    "accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end duration billsec "
    "disposition amaflags uniqueid userfield"
).split()
USED = ["src", "dst", "dcontext", "clid", "lastapp", "start", "answer", "end", "billsec", "disposition", "uniqueid"]
MACHINE_APPS = {"VoiceMail", "Playback", "Background", "Read"}
KINDS = {
    "苦情": "complaint",
    "要望": "demand",
    "問合せ": "inquiry",
    "手続": "procedure",
    "相談": "consultation",
    "その他": "other",
    "": "unknown",
}
CROSS_KINDS = ["complaint", "demand", "inquiry", "unknown"]
TOPIC_KINDS = ["complaint", "demand", "inquiry", "other", "unknown"]
HOUR, DAY = 3600, 86400


def read_all(pattern: str, **kwargs) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False, **kwargs) for f in sorted(glob.glob(pattern))],
        ignore_index=True,
    )


def digits(s: pd.Series) -> pd.Series:
    return s.str.replace(r"\D", "", regex=True)


def call_contacts(folder: str) -> pd.DataFrame:
    deps = pd.read_csv(f"{folder}/departments.csv", dtype=str, keep_default_na=False)
    department_of = dict(zip(digits(deps["number"]), deps["department"], strict=True))
    legs = read_all(f"{folder}/calls/*.csv", header=None, names=COLUMNS, usecols=USED)
    caller = digits(legs["src"].where(legs["src"] != "", legs["clid"].str.extract(r"<([^>]*)>", expand=False)))
    staff = (caller.str.len() <= 5) | (legs["dcontext"] == "from-internal")
    legs = legs.assign(requester_key="tel:" + caller)[~staff]
    billsec = legs["billsec"].astype(int)
    legs = pd.DataFrame(
        {
            "uniqueid": legs["uniqueid"],
            "requester_key": legs["requester_key"],
            "department": digits(legs["dst"]).map(department_of),
            "started_at": pd.to_datetime(legs["start"], format="%Y-%m-%d %H:%M:%S"),
            "ended_at": pd.to_datetime(legs["end"], format="%Y-%m-%d %H:%M:%S"),
            "billsec": billsec,
            "answered": (legs["disposition"] == "ANSWERED") & (billsec > 0) & ~legs["lastapp"].isin(MACHINE_APPS),
        }
    )
    legs["talk"] = legs["billsec"].where(legs["answered"], 0)
    calls = legs.groupby("uniqueid", sort=False).agg(
        requester_key=("requester_key", "first"),
        started_at=("started_at", "min"),
        ended_at=("ended_at", "max"),
        talk_s=("talk", "sum"),
        answered=("answered", "any"),
    )
    # the department of the last answered leg, else of the last leg: the last row once sorted so
    last = legs.sort_values(["uniqueid", "answered", "ended_at"]).drop_duplicates("uniqueid", keep="last")
    calls["department"] = last.set_index("uniqueid")["department"]
    calls = calls.reset_index()
    return calls.assign(
        contact_id="call:" + calls["uniqueid"],
        channel="call",
        kind="unknown",
        topic=None,
        source_id=calls["uniqueid"],
        exit_requested_at=pd.NaT,
    ).drop(columns="uniqueid")


def visit_contacts(folder: str) -> pd.DataFrame:
    v = read_all(f"{folder}/visits/*.csv")
    phone, ref = digits(v["phone"]), v["requester_ref"].str.strip()
    key = np.where(phone.str.len() > 5, "tel:" + phone, np.where(ref != "", "ref:" + ref, None))
    times = {
        c: pd.to_datetime(v[c].replace("", None), format="%Y-%m-%d %H:%M")
        for c in ["arrived_at", "ended_at", "exit_requested_at"]
    }
    talk = (times["ended_at"] - times["arrived_at"]).dt.total_seconds().fillna(0).astype(int)
    out = pd.DataFrame(
        {
            "contact_id": "visit:" + v["visit_id"],
            "channel": "visit",
            "requester_key": key,
            "department": v["department"].replace("", None),
            "kind": v["kind"].map(lambda k: KINDS.get(k, k.lower())),
            "topic": v["topic"].replace("", None),
            "started_at": times["arrived_at"],
            "ended_at": times["ended_at"],
            "talk_s": talk,
            "answered": True,
            "source_id": v["visit_id"],
            "exit_requested_at": times["exit_requested_at"],
        }
    )
    return out[out["requester_key"].notna()]


def contacts(folder: str) -> pd.DataFrame:
    c = pd.concat([call_contacts(folder), visit_contacts(folder)], ignore_index=True)
    c["end_at"] = c["ended_at"].fillna(c["started_at"])
    c["local_day"] = c["started_at"].dt.normalize()
    c["t"] = c["started_at"].dt.as_unit("s").astype("int64")  # naive local seconds: only differences matter
    topic = c["topic"].str.replace(r"[\t\n\f\r ]+", " ", regex=True).str.strip(" ").str.lower()
    c["topic_key"] = topic.where(topic != "")
    return c


def window(codes: np.ndarray, t: np.ndarray, seconds: int):
    """Rows sorted by (codes, t): each row's window [lo, hi) of its group's rows within t - seconds .. t."""
    k = codes.astype(np.int64) * 10**10 + t
    return np.searchsorted(k, k - seconds, "left"), np.searchsorted(k, k, "right")


def sorted_by(df: pd.DataFrame, keys: list[str]):
    df = df.sort_values(keys + ["started_at", "contact_id"], ignore_index=True)
    codes = df.groupby(keys, sort=False).ngroup().to_numpy()
    return df, codes


def hits(c: pd.DataFrame) -> pd.DataFrame:
    out = []

    def add(rule, df, s, e, value, alert=False, group=None):
        out.append(
            pd.DataFrame(
                {
                    "rule_id": rule,
                    "requester_key": df["requester_key"].to_numpy(),
                    "group_key": None if group is None else np.asarray(group, dtype=object),
                    "s": np.asarray(s),
                    "e": np.asarray(e),
                    "value": np.asarray(value, dtype=float),
                    "alert": np.broadcast_to(alert, len(df)),
                }
            )
        )

    calls, visits = c[c["channel"] == "call"], c[c["channel"] == "visit"]
    x = calls[calls["talk_s"] >= 1800]
    add("long_call", x, x["started_at"], x["end_at"], x["talk_s"] / 60, x["talk_s"] >= 3600)
    x = visits[visits["talk_s"] >= 3600]
    add("long_visit", x, x["started_at"], x["end_at"], x["talk_s"] / 60, x["talk_s"] >= 7200)
    x = (
        c[c["answered"] & c["department"].notna()]
        .groupby(["requester_key", "department", "local_day"])
        .agg(n=("talk_s", "size"), talk=("talk_s", "sum"), s=("started_at", "min"), e=("end_at", "max"))
        .reset_index()
    )
    x = x[(x["n"] >= 2) & (x["talk"] >= 3600)]
    add("department_day_total", x, x["s"], x["e"], x["talk"] / 60, group=x["department"])
    x = visits[visits["ended_at"].notna()]
    late = (x["ended_at"] - x["local_day"] - pd.Timedelta("17:15:00")).dt.total_seconds() / 60
    x, late = x[late > 15], late[late > 15]
    add("overstay_after_closing", x, x["started_at"], x["ended_at"], late)
    x = visits[visits["ended_at"].notna() & visits["exit_requested_at"].notna()]
    late = (x["ended_at"] - x["exit_requested_at"]).dt.total_seconds() / 60
    x, late = x[late > 10], late[late > 10]
    add("overstay_after_exit_request", x, x["started_at"], x["ended_at"], late)

    # immediate_redial: 0-5 minutes after the end of the previous call, which was answered; 3 (6) in any 24 h
    x, codes = sorted_by(calls, ["requester_key"])
    same = np.r_[False, codes[1:] == codes[:-1]]
    prev_answered = same & np.r_[False, x["answered"].to_numpy()[:-1]]
    prev_end, prev_start = x["end_at"].shift(1), x["started_at"].shift(1)
    redial = prev_answered & (x["started_at"] >= prev_end) & (x["started_at"] <= prev_end + pd.Timedelta("5min"))
    x, codes, prev_start = x[redial], codes[redial.to_numpy()], prev_start[redial].to_numpy()
    lo, hi = window(codes, x["t"].to_numpy(), 24 * HOUR)
    n, keep = hi - lo, hi - lo >= 3
    x = x[keep]
    add("immediate_redial", x, prev_start[lo[keep]], x["end_at"], n[keep], n[keep] >= 6)

    # cross_department: >= 5 answered contacts of these kinds reaching >= 3 departments within any 30 days
    x = c[c["answered"] & c["department"].notna() & c["kind"].isin(CROSS_KINDS)]
    x, codes = sorted_by(x, ["requester_key"])
    lo, hi = window(codes, x["t"].to_numpy(), 30 * DAY)
    dept, _ = pd.factorize(x["department"])
    seen = np.zeros((len(x) + 1, dept.max() + 1 if len(x) else 1), dtype=np.int32)
    seen[np.arange(1, len(x) + 1), dept] = 1
    seen = seen.cumsum(axis=0)  # per department, how many contacts up to each row
    departments = ((seen[hi] - seen[lo]) > 0).sum(axis=1)
    keep = (hi - lo >= 5) & (departments >= 3)
    starts = x["started_at"].to_numpy()
    x = x[keep]
    add("cross_department", x, starts[lo[keep]], x["end_at"], departments[keep])

    # same_topic: 3 contacts on one topic within 7 days, or 5 within 30 days
    x = c[c["topic_key"].notna() & c["kind"].isin(TOPIC_KINDS)]
    x, codes = sorted_by(x, ["requester_key", "topic_key"])
    starts = x["started_at"].to_numpy()
    for days, least in [(7, 3), (30, 5)]:
        lo, hi = window(codes, x["t"].to_numpy(), days * DAY)
        keep = hi - lo >= least
        y = x[keep]
        add("same_topic", y, starts[lo[keep]], y["end_at"], (hi - lo)[keep], group=y["topic_key"])

    x = (
        calls[calls["answered"]]
        .groupby(["requester_key", "local_day"])
        .agg(n=("talk_s", "size"), s=("started_at", "min"), e=("end_at", "max"))
        .reset_index()
    )
    x = x[x["n"] >= 10]
    add("frequent_calls", x, x["s"], x["e"], x["n"])
    return pd.concat(out, ignore_index=True)


def episodes(h: pd.DataFrame) -> pd.DataFrame:
    """Hits of one rule, requester and group whose windows overlap or touch are one flag."""
    h = h.assign(g=h["group_key"].fillna("")).sort_values(
        ["rule_id", "requester_key", "g", "s", "e"], ignore_index=True
    )
    keys = ["rule_id", "requester_key", "g"]
    previous_e = h.groupby(keys, sort=False)["e"].cummax().groupby([h[k] for k in keys], sort=False).shift(1)
    h["episode"] = (
        (previous_e.isna() | (h["s"] > previous_e)).astype(int).groupby([h[k] for k in keys], sort=False).cumsum()
    )
    f = (
        h.groupby(keys + ["episode"], sort=False)
        .agg(first_at=("s", "min"), last_at=("e", "max"), value=("value", "max"), alert=("alert", "any"))
        .reset_index()
    )
    f["group_key"] = f["g"].replace("", None)
    f["severity"] = np.where(f["alert"], "alert", "watch")
    first_at = f["first_at"].dt.tz_localize("Asia/Tokyo")
    ms = first_at.dt.as_unit("ms").astype("int64").astype(str)
    f["flag_id"] = [
        "F" + hashlib.md5("|".join(parts).encode()).hexdigest()[:16]
        for parts in zip(f["requester_key"], f["rule_id"], f["g"], ms, strict=True)
    ]
    return f.drop(columns=["g", "episode", "alert"])


EVIDENCE = {  # which of a requester's contacts inside a flag's window its rule looks at
    "long_call": lambda c: c["channel"] == "call",
    "long_visit": lambda c: c["channel"] == "visit",
    "department_day_total": lambda c: c["answered"] & (c["department"] == c["group_key"]),
    "overstay_after_closing": lambda c: c["channel"] == "visit",
    "overstay_after_exit_request": lambda c: (c["channel"] == "visit") & c["exit_requested_at"].notna(),
    "immediate_redial": lambda c: c["channel"] == "call",
    "cross_department": lambda c: c["answered"] & c["department"].notna() & c["kind"].isin(CROSS_KINDS),
    "same_topic": lambda c: (c["topic_key"] == c["group_key"]) & c["kind"].isin(TOPIC_KINDS),
    "frequent_calls": lambda c: (c["channel"] == "call") & c["answered"],
}


def evidence(f: pd.DataFrame, c: pd.DataFrame) -> pd.DataFrame:
    """Each flag's evidence: its requester's contacts starting inside its window that its rule looks at. The
    contacts sorted by (requester, start), a flag's candidates are one slice, found with searchsorted."""
    cols = [
        "requester_key",
        "contact_id",
        "channel",
        "started_at",
        "answered",
        "department",
        "kind",
        "topic_key",
        "exit_requested_at",
        "source_id",
    ]
    c = c.loc[c["requester_key"].isin(f["requester_key"]), cols].sort_values(
        ["requester_key", "started_at", "contact_id"], ignore_index=True
    )
    codes, keys = pd.factorize(c["requester_key"])  # sorted: the codes grow with the rows
    k = codes.astype(np.int64) * 10**10 + c["started_at"].dt.as_unit("s").astype("int64").to_numpy()
    fk = pd.Index(keys).get_indexer(f["requester_key"]).astype(np.int64) * 10**10
    lo = np.searchsorted(k, fk + f["first_at"].dt.as_unit("s").astype("int64").to_numpy(), "left")
    n = np.searchsorted(k, fk + f["last_at"].dt.as_unit("s").astype("int64").to_numpy(), "right") - lo
    which = np.repeat(np.arange(len(f)), n)
    rows = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    m = c.iloc[rows].reset_index(drop=True)
    for col in ["flag_id", "rule_id", "group_key"]:
        m[col] = f[col].to_numpy()[which]
    keep = np.zeros(len(m), dtype=bool)
    for rule, looks_at in EVIDENCE.items():
        mine = (m["rule_id"] == rule).to_numpy()
        keep[mine] = looks_at(m[mine]).to_numpy()
    lists = m[keep].groupby("flag_id", sort=False)["source_id"].agg(list)  # in (start, contact_id) order
    out = f.assign(evidence=f["flag_id"].map(lists))
    out["evidence"] = out["evidence"].apply(lambda v: v if isinstance(v, list) else [])
    out["contacts"] = out["evidence"].str.len()
    for col in ["first_at", "last_at"]:
        out[col] = out[col].dt.tz_localize("Asia/Tokyo")
    return out


def main(folder: str, out: str) -> dict:
    t0 = time.perf_counter()
    c = contacts(folder)
    t1 = time.perf_counter()
    flags = evidence(episodes(hits(c)), c)
    flags.to_parquet(out, index=False)
    t2 = time.perf_counter()
    return {
        "contacts": len(c),
        "flags": len(flags),
        "contacts_s": t1 - t0,
        "judge_s": t2 - t1,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))

"""`deconflict demo --speed 10` as a user runs it (a subprocess on a free loopback port), checked
through the API only: within a bounded run both parties list the advisory strategic conflicts
(the first disclosed exactly, the second past the disclosure budget and coarse, both in each
side's disclosures), RED's ledger holds the F3548 refusal, the broker-opened hotline thread is
acknowledged by the simulated counterpart, a simulated officer confirms an alert's coordinated
guidance with the ``coordinated_guidance`` template, and a FLASH warning answered too late
escalates and an incident is filed.
"""

from __future__ import annotations

import csv
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring

from deconflict.cli import main
from deconflict.cli.demo import FollowOns, simulated_parties
from deconflict.sim import geography
from deconflict.sim.scenario import Scenario

BIN = Path(sys.executable).with_name("deconflict")
BUDGET_S = 65.0
"""Wall-clock budget of the accelerated run once the demo is up (speed 10: about 11 scenario
minutes; the escalation is due about 40 s in on an idle machine)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Api:
    def __init__(self, url: str, keys: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=url, timeout=10.0)
        self.keys = keys

    def get(self, party: str, path: str, **params: Any) -> Any:
        r = self.client.get(
            path, params=params or None, headers={"Authorization": f"Bearer {self.keys[party]}"}
        )
        r.raise_for_status()
        return r.json()


def _advisory(api: _Api, party: str) -> list[dict[str, Any]]:
    return [
        c
        for c in api.get(party, "/v1/conflicts")
        if c["policy"] == "advisory" and c["kind"] == "volume"
    ]


def _broker_thread_acked(api: _Api) -> bool:
    """RED filed the conflicting notice: the broker's thread goes RED -> BLUE, and BLUE's
    simulated officer must have answered it (as RED sees it)."""
    for thread in api.get("RED", "/v1/hotline/threads"):
        if "opened by the broker" not in thread["subject"]:
            continue
        for m in api.get("RED", "/v1/hotline/messages", thread=thread["id"]):
            if m["template"] == "request_to_deconflict" and m["acks"]:
                return m["acks"][0]["answer"] in ("received", "understood", "will_comply")
    return False


def _guidance_confirmed(api: _Api) -> bool:
    """A ``coordinated_guidance`` confirmation from one side, as the other side received it."""
    for sender, receiver in (("BLUE", "RED"), ("RED", "BLUE")):
        for thread in api.get(receiver, "/v1/hotline/threads"):
            for m in api.get(receiver, "/v1/hotline/messages", thread=thread["id"]):
                f = m["fields"]
                if (
                    m["template"] == "coordinated_guidance"
                    and m["sender"]["name"] == sender
                    and f["status"] == "guidance_confirmed"
                    and f["alert_ref"]
                ):
                    return True
    return False


def _escalated(api: _Api) -> list[dict[str, Any]]:
    out = []
    for thread in api.get("BLUE", "/v1/hotline/threads"):
        for m in api.get("BLUE", "/v1/hotline/messages", thread=thread["id"]):
            if m["escalations"]:
                out.append(m)
    return out


def test_demo_shows_the_whole_arrangement_within_a_bounded_accelerated_run(
    tmp_path: Path,
) -> None:
    port = _free_port()
    log_path = tmp_path / "demo.log"
    t0 = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(BIN),
                "demo",
                "--speed",
                "10",
                "--port",
                str(port),
                "--duration",
                str(BUDGET_S + 40),
                "--data-dir",
                str(tmp_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            keys: dict[str, str] = {}
            while time.monotonic() - t0 < 45:
                text = log_path.read_text(errors="replace")
                keys = dict(re.findall(r"(BLUE|RED|CIVIL|UAS)\s+duty officer key:\s*(\S+)", text))
                if "submitted" in text and len(keys) == 4:
                    break
                assert proc.poll() is None, text[-3000:]
                time.sleep(0.3)
            ready = time.monotonic()
            text = log_path.read_text(errors="replace")
            assert re.search(r"submitted 19 notices \(1 refused\) and 1 agreed line", text), text
            assert "RED-HELO-1" in text and "REFUSED" in text
            api = _Api(f"http://127.0.0.1:{port}", keys)

            # 1. The advisory strategic conflicts, on both sides: the first with the disclosed
            # overlap (15,000-20,000 ft for one hour) and nothing of the other side's notice;
            # the second past the disclosure budget: coarse (H3 cells, no geometry).
            blue_all, red_all = _advisory(api, "BLUE"), _advisory(api, "RED")
            assert len(blue_all) == 2 and len(red_all) == 2
            blue = [c for c in blue_all if not c["overlap"].get("coarse")]
            red = [c for c in red_all if not c["overlap"].get("coarse")]
            assert len(blue) == 1 and len(red) == 1
            for c in [*blue_all, *red_all]:
                if c["overlap"].get("coarse"):
                    assert (
                        "geometry" not in c["overlap"] and c["overlap"]["coarse_area"]["h3_cells"]
                    )
            for party in ("BLUE", "RED"):
                rows = api.get(party, "/v1/disclosures")["disclosures"]
                assert sorted(r["kind"] for r in rows) == ["coarse", "exact"], rows
            for c in (blue[0], red[0]):
                overlap = c["overlap"]
                assert (overlap["alt_lower_ft"], overlap["alt_upper_ft"]) == (15000, 20000)
                assert set(overlap) <= {
                    "geometry",
                    "alt_lower_ft",
                    "alt_upper_ft",
                    "alt_reference",
                    "approximate",
                    "start",
                    "end",
                }
            assert blue[0]["counterpart"] == "RED" and red[0]["counterpart"] == "BLUE"
            own_blue = {n["id"]: n["title"] for n in api.get("BLUE", "/v1/notices")}
            assert own_blue[blue[0]["own_notice_id"]] == "BLUE-EX-2"

            # 2. The F3548 refusal: in RED's part of the ledger, and no RED-HELO-1 at 13:30.
            ledger = api.client.get(
                "/v1/ledger/export", headers={"Authorization": f"Bearer {keys['RED']}"}
            )
            assert ledger.status_code == 200 and "notice.refused" in ledger.text
            red_titles = [n["title"] for n in api.get("RED", "/v1/notices")]
            assert "RED-HELO-1" not in red_titles and "RED-HELO-1 (moved)" in red_titles

            # 3. The broker-opened thread is acknowledged by the simulated BLUE officer, and
            # 4. RED's officer, away at the watch handover, answers BLUE's FLASH warning after
            # its deadline: the broker escalates and BLUE files an airprox incident.
            acked = escalated = incident = guided = False
            while time.monotonic() - ready < BUDGET_S and not (
                acked and escalated and incident and guided
            ):
                acked = acked or _broker_thread_acked(api)
                guided = guided or _guidance_confirmed(api)
                escalated = escalated or bool(_escalated(api))
                incident = incident or any(
                    i["category"] == "airprox" for i in api.get("RED", "/v1/incidents")
                )
                time.sleep(1.0)
            tail = log_path.read_text(errors="replace")[-3000:]
            assert acked, tail
            assert escalated, tail
            assert incident, tail
            assert guided, tail
            flash = [m for m in _escalated(api) if m["precedence"] == "flash"]
            assert flash and flash[0]["escalations"][0]["target"] == "duty_officer"
            # Alerts keep flowing meanwhile.
            assert api.get("BLUE", "/v1/alerts", state="all")

            # 5. Ctrl-C: the demo stops and writes the review pack; its charts count what the
            # CSV files list, in both languages.
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=40) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    review = tmp_path / "review"
    with (review / "alerts.csv").open() as handle:
        alert_kinds = Counter(row["kind"] for row in csv.DictReader(handle))
    with (review / "acknowledgements.csv").open() as handle:
        acks = list(csv.DictReader(handle))
    assert alert_kinds and acks
    for lang in ("en", "ru"):
        charts = {
            svg.get("data-chart"): svg
            for svg in (
                fromstring(text)
                for text in re.findall(
                    r"<svg .*?</svg>", (review / f"review.{lang}.html").read_text(), flags=re.S
                )
            )
        }
        drawn: Counter[str] = Counter()
        for mark in charts["over-time"].iter():
            if mark.get("data-series"):
                drawn[str(mark.get("data-series"))] += int(mark.get("data-value", "0"))
        assert drawn.pop("strategic", 0) == 2  # RED-EX-2 and RED-PATROL-1 against BLUE-EX-2
        assert drawn == alert_kinds
        flash_deadlines = {
            float(m.get("data-value", "nan"))
            for m in charts["latency"].iter()
            if m.get("data-series") == "deadline_s" and m.get("data-precedence") == "flash"
        }
        assert flash_deadlines == {30.0}  # 5 min / speed 10
        escalated_by = {
            m.get("data-party"): int(m.get("data-value", "-1"))
            for m in charts["per-party"].iter()
            if m.get("data-series") == "escalated"
        }
        assert (
            escalated_by.get("RED", 0)
            == sum(1 for a in acks if a["recipient"] == "RED" and int(a["escalations"]) > 0)
            >= 1
        )


def test_demo_as_takes_blue_or_red_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--as", "GREEN", "--duration", "1", "--data-dir", str(tmp_path)])
    assert code == 2
    assert "--as" in capsys.readouterr().err


def test_demo_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = main(["demo", "--duration", "2", "--port", str(port), "--data-dir", str(tmp_path)])
    assert code == 2


def test_as_flag_simulates_only_the_other_side() -> None:
    assert simulated_parties(None) == ("BLUE", "RED")
    assert simulated_parties("blue") == ("RED",)
    assert simulated_parties("RED") == ("BLUE",)


def test_follow_on_notices_are_filed_an_hour_before_the_current_ones_end() -> None:
    start = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    scenario = Scenario(seed=1, start=start)
    follow = FollowOns(scenario)
    assert follow.due(start) == []
    _, ex_end = scenario.standing_window("BLUE-EX-1", 0)
    due = follow.due(ex_end - timedelta(hours=1))
    assert [n.title for n in due] == ["BLUE-EX-1 #2"]
    assert follow.due(ex_end - timedelta(minutes=59)) == []  # once only
    (vol,) = due[0].volumes
    assert vol["start"] < ex_end.isoformat().replace("+00:00", "Z") < vol["end"]
    # Four hours on, every standing volume has had at least one follow-on.
    later = follow.due(start + timedelta(hours=4))
    assert {n.title.split(" #")[0] for n in later} | {"BLUE-EX-1"} == {
        v.id for v in geography.VOLUMES
    }

from datetime import datetime, timezone

import numpy as np
import pytest

from cenas.carbon.traces import BUNDLED_REGIONS, load_region, load_trace
from cenas.errors import InvalidTraceError, TraceRangeError, UnknownRegionError

UTC = timezone.utc


def write(tmp_path, text: str, name: str = "trace.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "timestamp,carbon_intensity\n2021-01-01T00:00:00Z,100\n2021-01-01T01:00:00Z,110.5\n2021-01-01T02:00:00Z,90\n"


@pytest.mark.parametrize("region", BUNDLED_REGIONS)
def test_bundled_regions_cover_2021_to_2023_hourly(region):
    trace = load_region(region)
    assert trace.start == datetime(2021, 1, 1, tzinfo=UTC)
    assert trace.end == datetime(2023, 12, 31, 23, tzinfo=UTC)
    assert len(trace) == 26280 and (trace.values > 0).all()


def test_carboncast_set_is_addressable():
    trace = load_region("carboncast/lifecycle/US-CAL-CISO")
    assert trace.start == datetime(2019, 1, 1, tzinfo=UTC) and len(trace) == 35136


def test_good_file_and_window(tmp_path):
    trace = load_trace(write(tmp_path, GOOD))
    assert trace.values.tolist() == [100.0, 110.5, 90.0]
    assert trace.window(datetime(2021, 1, 1, 1, tzinfo=UTC), 2).tolist() == [110.5, 90.0]
    assert trace.index_of(datetime(2021, 1, 1, 2, 30)) == 2  # naive means UTC; inside the hour


def test_gzip_and_extra_columns(tmp_path):
    import gzip

    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("zone,timestamp,carbon_intensity\nX,2021-01-01T00:00:00+00:00,5\nX,2021-01-01T01:00:00+00:00,6\n")
    assert load_trace(path).values.tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("time,carbon_intensity\n2021-01-01T00:00:00Z,1\n", "row 1 (header): missing column(s) timestamp"),
        ("timestamp,value\n2021-01-01T00:00:00Z,1\n", "missing column(s) carbon_intensity"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,1\n2021-01-01T00:30:00Z,2\n", "row 3: timestamp 2021-01-01T00:30:00Z is not on the hour"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,1\n2021-01-01T00:00:00Z,2\n", "row 3: duplicate timestamp"),
        ("timestamp,carbon_intensity\n2021-01-01T01:00:00Z,1\n2021-01-01T00:00:00Z,2\n", "row 3: timestamp 2021-01-01T00:00:00Z is earlier"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,-3\n", "row 2: carbon_intensity -3.0 is negative"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,\n", "row 2: missing carbon_intensity value"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,nan\n", "row 2: carbon_intensity 'nan' is missing"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,abc\n", "row 2: carbon_intensity 'abc' is not a number"),
        ("timestamp,carbon_intensity\nyesterday,1\n", "row 2: cannot parse timestamp 'yesterday'"),
        ("timestamp,carbon_intensity\n", "no data rows"),
        ("", "empty file"),
        ("timestamp,carbon_intensity\n2021-01-01T00:00:00Z,1\n2021-01-01T03:00:00Z,4\n", "row 3: gap after 2021-01-01T00:00:00Z (2 missing hour(s)"),
    ],
)
def test_bad_files_are_refused_with_file_and_row(tmp_path, body, fragment):
    path = write(tmp_path, body)
    with pytest.raises(InvalidTraceError) as info:
        load_trace(path)
    message = str(info.value)
    assert message.startswith(str(path)) and fragment in message


def test_gaps_filled_on_request_and_reported(tmp_path):
    path = write(tmp_path, "timestamp,carbon_intensity\n2021-01-01T00:00:00Z,10\n2021-01-01T03:00:00Z,40\n2021-01-01T04:00:00Z,50\n")
    trace = load_trace(path, fill_gaps=True)
    assert np.allclose(trace.values, [10, 20, 30, 40, 50])
    assert trace.filled_hours == (datetime(2021, 1, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, 2, tzinfo=UTC))


def test_missing_file_is_a_trace_error(tmp_path):
    with pytest.raises(InvalidTraceError, match="cannot read trace file"):
        load_trace(tmp_path / "absent.csv")


def test_unknown_region():
    with pytest.raises(UnknownRegionError, match="unknown region 'MARS'"):
        load_region("MARS")


def test_window_errors(tmp_path):
    trace = load_trace(write(tmp_path, GOOD))
    with pytest.raises(TraceRangeError, match="outside trace"):
        trace.window(datetime(2020, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(TraceRangeError, match="run past the end"):
        trace.window(datetime(2021, 1, 1, 1, tzinfo=UTC), 3)

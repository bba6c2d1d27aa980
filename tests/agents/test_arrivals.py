import numpy as np
import pytest

from syntwin.agents import ArrivalProfile, TimeSlots
from syntwin.agents.arrivals import apply_time_slots, sample_arrivals

PROFILE = ArrivalProfile((0, 1800, 3600), (0, 12, 0))  # a triangle: 0 -> 12/min -> 0 over an hour


def test_thinning_matches_the_intensity():
    assert PROFILE.expected() == pytest.approx(360.0)
    rng = np.random.default_rng(0)
    samples = [sample_arrivals(PROFILE, 3600, rng) for _ in range(200)]
    counts = np.array([len(s) for s in samples])
    assert counts.mean() == pytest.approx(360, rel=0.02)
    assert counts.var() == pytest.approx(360, rel=0.25)  # Poisson: variance = mean
    t = np.concatenate(samples)
    first_quarter = (t < 900).mean()  # integral of the triangle over [0, 900] is 1/8 of the total
    assert first_quarter == pytest.approx(0.125, abs=0.01)
    assert all(np.all(np.diff(s) >= 0) for s in samples)


def test_scale_and_common_random_numbers():
    a = sample_arrivals(PROFILE, 3600, np.random.default_rng(1))
    b = sample_arrivals(PROFILE, 3600, np.random.default_rng(1), scale=0.5)
    assert set(b) <= set(a)  # thinning the same candidates: a subset of the same arrivals
    assert len(b) == pytest.approx(len(a) / 2, rel=0.2)


def test_time_slots_respect_the_quota():
    arr = sample_arrivals(PROFILE, 3600, np.random.default_rng(2))
    out, booked = apply_time_slots(arr, TimeSlots(slot_min=10, max_per_slot=40), np.random.default_rng(3))
    per_slot = np.bincount((out[booked] // 600).astype(int))
    assert per_slot.max() <= 40
    assert len(out) == len(arr) and (out[booked] >= arr[booked] - 1e-9).all()  # nobody comes earlier
    # unbounded run: everybody gets a slot, the last ones after the hour
    assert booked.all() and out.max() > 3600


def test_time_slots_that_overflow_the_run_are_counted_or_refused():
    arr = sample_arrivals(PROFILE, 3600, np.random.default_rng(2))
    slots = TimeSlots(slot_min=10, max_per_slot=40)
    out, booked = apply_time_slots(arr, slots, np.random.default_rng(3), duration_s=3600)
    per_slot = np.bincount((out[booked] // 600).astype(int), minlength=6)
    assert len(per_slot) == 6 and per_slot.max() <= 40  # six 10-minute slots in the hour
    assert 0 < (~booked).sum() and np.isnan(out[~booked]).all() and (out[booked] < 3600).all()
    # nobody is refused while a slot at or after the one they wanted has room
    first_wanted = int(arr[~booked].min() // 600)
    assert (per_slot[first_wanted:] == 40).all()
    assert booked.sum() + (~booked).sum() == len(arr)
    with pytest.raises(ValueError, match=r"\d+ of \d+ visitors find no slot .*6 slots x 40 = 240"):
        apply_time_slots(arr, TimeSlots(10, 40, overflow="error"), np.random.default_rng(3), duration_s=3600)
    with pytest.raises(ValueError, match="overflow must be"):
        TimeSlots(overflow="later")


def test_partial_last_slot_stays_inside_the_run():
    arr = np.full(100, 3000.0)  # everyone wants the last slot of a 55-minute run
    out, booked = apply_time_slots(arr, TimeSlots(slot_min=10, max_per_slot=10), np.random.default_rng(0),
                                   duration_s=3300)
    assert booked.sum() == 10 and (out[booked] < 3300).all() and (out[booked] >= 3000).all()


def test_bad_profiles():
    with pytest.raises(ValueError, match="strictly increasing"):
        ArrivalProfile((0, 10, 5), (1, 1, 1))
    with pytest.raises(ValueError, match=">= 0"):
        ArrivalProfile((0, 10), (1, -1))


def test_a_full_slot_sends_visitors_to_the_very_next_one():
    arr = np.linspace(0.0, 60.0, 35)  # all want the first 10-minute slot
    out, booked = apply_time_slots(arr, TimeSlots(slot_min=10, max_per_slot=10), np.random.default_rng(0),
                                   duration_s=1800)
    slot = (out[booked] // 600).astype(int)
    assert np.bincount(slot).tolist() == [10, 10, 10]  # slots 0, 1, 2 full, in order
    assert (~booked).sum() == 5
    moved = booked & (out != arr)
    k = (out[moved] // 600).astype(int)
    assert ((out[moved] >= k * 600) & (out[moved] < (k + 1) * 600)).all()
    assert out[moved].std() > 100  # spread over the slot, not bunched at its start
    order = np.argsort(arr, kind="stable")
    assert (np.diff(np.where(booked[order], out[order] // 600, 99)) >= 0).all()  # first come, first slot
    with pytest.raises(ValueError, match=r"^time slots overflow the run: 5 of 35 visitors find no slot before "
                                         r"its end \(3 slots x 10 = 30 bookings\)"):
        apply_time_slots(arr, TimeSlots(10, 10, overflow="error"), np.random.default_rng(0), duration_s=1800)


def test_visitors_arriving_together_book_in_the_order_they_are_listed():
    """Booking is first come, first served, and among equal arrival times the earlier-listed visitor books
    first: with 10 bookings per slot, the i-th of the visitors arriving at each instant gets slot i // 10."""
    rng = np.random.default_rng(4)
    times = rng.integers(0, 3, 300).astype(float)  # three instants in slot 0, each with ~100 visitors
    out, booked = apply_time_slots(times, TimeSlots(slot_min=10, max_per_slot=10), np.random.default_rng(1))
    assert booked.all()
    order = np.lexsort((np.arange(len(times)), times))  # arrival time, then list position
    np.testing.assert_array_equal(out[order] // 600, np.arange(len(times)) // 10)


def test_one_booking_per_slot_fills_every_slot_in_turn():
    times = np.zeros(4)
    out, booked = apply_time_slots(times, TimeSlots(slot_min=5, max_per_slot=1), np.random.default_rng(0),
                                   duration_s=1200.0)
    assert booked.all()
    np.testing.assert_array_equal(out // 300, [0, 1, 2, 3])
    assert out[0] == 0.0  # the first keeps its own time in its own slot


def test_integer_arrival_times_are_moved_to_fractional_times_and_left_unchanged():
    times = np.array([0, 0, 0, 10, 20], dtype=np.int64)
    out, booked = apply_time_slots(times, TimeSlots(slot_min=1, max_per_slot=2), np.random.default_rng(2),
                                   duration_s=90.0)
    assert out.dtype.kind == "f" and booked.tolist() == [True, True, True, True, False]
    for moved in out[2:4]:  # uniform within what is left of slot 1 before the end of the run
        assert 60.0 < moved < 90.0 and moved != np.floor(moved)
    assert np.isnan(out[4]) and times.tolist() == [0, 0, 0, 10, 20]


def test_a_scale_above_one_multiplies_the_intensity_and_keeps_its_shape():
    """scale 2.5 means 2.5 times the arrivals (the candidate rate must cover 2.5 λ_max), same time profile."""
    rng = np.random.default_rng(5)
    samples = [sample_arrivals(PROFILE, 3600, rng, scale=2.5) for _ in range(100)]
    counts = np.array([len(s) for s in samples])
    assert counts.mean() == pytest.approx(2.5 * 360, rel=0.02)
    assert (np.concatenate(samples) < 900).mean() == pytest.approx(0.125, abs=0.01)


def test_no_rate_or_no_time_means_no_arrivals_and_no_draws():
    """A closed profile or a run of no time has no arrivals and leaves the generator where it was (so the
    draws that follow, e.g. the visitors' traits, are the same as if it had not been asked)."""
    closed = ArrivalProfile((0, 3600), (0, 0))
    for profile, duration in ((closed, 3600.0), (PROFILE, 0.0), (PROFILE, -5.0)):
        rng = np.random.default_rng(6)
        out = sample_arrivals(profile, duration, rng)
        assert out.shape == (0,)
        assert rng.random() == np.random.default_rng(6).random()


def test_a_one_second_window_at_a_high_rate_has_its_arrivals():
    busy = ArrivalProfile((0, 1), (6000, 6000))  # 100 per second
    counts = [len(sample_arrivals(busy, 1.0, np.random.default_rng(s))) for s in range(20)]
    assert np.mean(counts) == pytest.approx(100, rel=0.1)

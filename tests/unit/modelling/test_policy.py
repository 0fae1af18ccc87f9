"""The retraining policy and the champion/challenger gate (segflow.modelling.policy), on hand-built dates and scores."""

from datetime import date

import pytest

from segflow.modelling.policy import Challenge, Champion, TrainingDecision, decide_training

RFM = ("recency_days", "frequency", "monetary")
TRAINED = date(2024, 6, 1)  # the champion's training as-of date
CHAMPION = Champion(version=3, as_of=TRAINED, features=RFM)


def decide(
    as_of: date,
    mode: str = "auto",
    features: tuple[str, ...] = RFM,
    champion: Champion | None = CHAMPION,
    last_training: date | None = TRAINED,
    max_age_days: int = 30,
    cooldown_days: int = 14,
) -> TrainingDecision:
    return decide_training(mode, as_of, features, champion, last_training, max_age_days, cooldown_days)


# --- decide_training -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
def test_without_a_champion_every_mode_trains_a_model_that_may_become_champion(mode):
    assert decide(date(2024, 6, 1), mode=mode, champion=None, last_training=None) == TrainingDecision(
        train=True, gated=False, may_promote=True, check_drift=False, reasons=("no champion model yet",)
    )


@pytest.mark.parametrize("as_of", [date(2024, 5, 1), date(2024, 6, 1), date(2024, 12, 1)])
def test_never_keeps_the_champion_whatever_the_date_or_age(as_of):
    assert decide(as_of, mode="never", max_age_days=1) == TrainingDecision(
        False, False, False, False, ("retrain='never': champion v3 kept",)
    )


def test_never_keeps_the_champion_even_on_other_features():
    # 'never' is checked before the features: the run is scored with the champion as it is.
    decision = decide(date(2024, 7, 1), mode="never", features=("recency_days", "frequency"))
    assert (decision.train, decision.reasons) == (False, ("retrain='never': champion v3 kept",))


def test_other_features_on_a_later_date_train_a_model_that_replaces_the_champion():
    decision = decide(date(2024, 6, 10), features=("recency_days", "frequency"))
    assert decision == TrainingDecision(
        True,
        False,
        True,
        False,
        (
            "champion v3 uses features ['recency_days', 'frequency', 'monetary'], "
            "this run ['recency_days', 'frequency']",
        ),
    )


def test_other_features_on_the_champions_own_date_may_still_promote():
    # Only a date strictly before the champion's training date holds the new model back.
    assert decide(TRAINED, features=("frequency",)).may_promote is True


def test_other_features_on_an_older_date_train_a_model_that_stays_a_candidate():
    decision = decide(date(2024, 5, 20), features=("frequency", "monetary"))
    assert decision == TrainingDecision(
        True,
        False,
        False,
        False,
        (
            "champion v3 uses features ['recency_days', 'frequency', 'monetary'], this run ['frequency', 'monetary']",
            "as of 2024-05-20 is before champion v3's training date 2024-06-01: the new model stays a candidate",
        ),
    )


def test_features_in_another_order_count_as_other_features():
    # Champion.features is a tuple compared as is; the pipeline passes both in the settings' order.
    assert decide(date(2024, 6, 10), features=("monetary", "frequency", "recency_days")).train is True


def test_an_older_date_in_auto_mode_scores_with_the_champion_and_trains_nothing():
    decision = decide(date(2024, 5, 31), max_age_days=1)  # the age rule must not apply backwards
    assert decision == TrainingDecision(
        False,
        False,
        False,
        False,
        (
            "as of 2024-05-31 is before champion v3's training date 2024-06-01: "
            "scored with the champion, nothing trained",
        ),
    )


def test_an_older_date_with_retraining_requested_trains_a_candidate_that_may_not_be_promoted():
    decision = decide(date(2024, 1, 15), mode="always")
    assert decision == TrainingDecision(
        True,
        False,
        False,
        False,
        (
            "retraining was requested",
            "as of 2024-01-15 is before champion v3's training date 2024-06-01: the new model stays a candidate",
        ),
    )


def test_always_on_a_later_date_trains_a_gated_challenger():
    assert decide(date(2024, 6, 5), mode="always") == TrainingDecision(
        True, True, True, False, ("retraining was requested",)
    )


def test_always_on_the_champions_own_date_trains_a_gated_challenger():
    assert decide(TRAINED, mode="always") == TrainingDecision(True, True, True, False, ("retraining was requested",))


def test_always_with_an_old_champion_gives_both_reasons():
    assert decide(date(2024, 7, 10), mode="always").reasons == (
        "retraining was requested",
        "champion v3 was trained 39 days before this run (max 30)",
    )


def test_a_champion_older_than_the_maximum_age_trains_a_gated_challenger():
    # 2024-06-01 -> 2024-07-02 is 31 days.
    assert decide(date(2024, 7, 2)) == TrainingDecision(
        True, True, True, False, ("champion v3 was trained 31 days before this run (max 30)",)
    )


def test_a_champion_exactly_at_the_maximum_age_is_still_current():
    # 30 days is not more than max_age_days=30: the drift check decides.
    assert decide(date(2024, 7, 1)) == TrainingDecision(
        False, True, True, True, ("champion v3 is current: 30 days old",)
    )


def test_a_later_losing_challenger_resets_the_age_clock():
    # The champion is 45 days old, but a challenger trained 2024-06-20 lost: the age is 25 days, not 45.
    decision = decide(date(2024, 7, 16), last_training=date(2024, 6, 20), cooldown_days=14)
    assert decision == TrainingDecision(
        False,
        True,
        True,
        True,
        ("champion v3 is current: 45 days old; the last challenger was trained 26 days before this run",),
    )


def test_when_the_last_challenger_is_too_old_the_reason_names_the_challenger():
    decision = decide(date(2024, 7, 25), last_training=date(2024, 6, 20), max_age_days=30)
    assert decision == TrainingDecision(
        True, True, True, False, ("the last challenger was trained 35 days before this run (max 30)",)
    )


def test_a_training_before_the_champions_date_does_not_count_as_the_last_training():
    # A candidate trained for an older date (2024-05-01) is older than the champion: the champion's date counts.
    decision = decide(date(2024, 7, 5), last_training=date(2024, 5, 1))
    assert decision.reasons == ("champion v3 was trained 34 days before this run (max 30)",)


def test_within_the_cool_down_after_a_losing_challenger_nothing_is_trained_and_drift_is_not_checked():
    # Challenger trained (and lost) 2024-06-10; the run is 2024-06-15: 5 days < 14 days of cool-down.
    decision = decide(date(2024, 6, 15), last_training=date(2024, 6, 10))
    assert decision == TrainingDecision(
        False,
        False,
        False,
        False,
        ("champion v3 kept: a challenger was trained 5 days ago (cool-down 14 days); drift not checked",),
    )


def test_on_the_day_the_cool_down_ends_drift_is_checked_again():
    # 2024-06-10 + 14 days = 2024-06-24: age 14 is not < 14.
    decision = decide(date(2024, 6, 24), last_training=date(2024, 6, 10))
    # The champion itself (trained 2024-06-01) is 23 days old; the 14 days run from the challenger.
    assert decision == TrainingDecision(
        False,
        True,
        True,
        True,
        ("champion v3 is current: 23 days old; the last challenger was trained 14 days before this run",),
    )


def test_the_last_day_of_the_cool_down_still_skips_the_drift_check():
    decision = decide(date(2024, 6, 23), last_training=date(2024, 6, 10))
    assert (decision.check_drift, decision.train) == (False, False)
    assert "a challenger was trained 13 days ago (cool-down 14 days)" in decision.reasons[0]


def test_the_cool_down_does_not_follow_the_champions_own_training():
    # Trained 3 days ago, by the champion itself (not a losing challenger): drift is checked.
    decision = decide(date(2024, 6, 4), last_training=TRAINED)
    assert decision == TrainingDecision(False, True, True, True, ("champion v3 is current: 3 days old",))


def test_a_missing_last_training_falls_back_to_the_champions_date():
    assert decide(date(2024, 6, 11), last_training=None) == TrainingDecision(
        False, True, True, True, ("champion v3 is current: 10 days old",)
    )


def test_a_zero_cool_down_checks_drift_the_day_after_a_loss():
    decision = decide(date(2024, 6, 11), last_training=date(2024, 6, 10), cooldown_days=0)
    assert (decision.train, decision.gated, decision.may_promote, decision.check_drift) == (False, True, True, True)
    assert (
        decision.reasons[0]
        == "champion v3 is current: 10 days old; the last challenger was trained 1 day before this run"
    )


def test_the_maximum_age_beats_the_cool_down():
    # age 4 > max 3 trains even though a challenger lost 4 days ago, inside a 14-day cool-down.
    decision = decide(date(2024, 6, 14), last_training=date(2024, 6, 10), max_age_days=3, cooldown_days=14)
    assert decision == TrainingDecision(
        True, True, True, False, ("the last challenger was trained 4 days before this run (max 3)",)
    )


# --- Challenge -------------------------------------------------------------------------------------------


def challenge(
    silhouette: float, ari: float, champion_silhouette: float = 0.5, margin: float = 0.25, min_ari: float = 0.5
) -> Challenge:
    # Binary fractions (0.5, 0.25, 0.75) so that the boundaries are exact in floating point.
    return Challenge(
        challenger=5,
        champion=3,
        silhouette=silhouette,
        champion_silhouette=champion_silhouette,
        adjusted_rand_index=ari,
        margin=margin,
        min_ari=min_ari,
    )


MEASURED = "silhouette {s} vs champion 0.5, adjusted Rand index {a} with the champion's segments"


def test_a_challenger_better_by_more_than_the_margin_is_promoted_however_it_segments():
    gate = challenge(0.875, ari=-0.25)
    assert gate.promoted is True
    assert gate.verdict == (
        f"challenger v5 promoted: {MEASURED.format(s=0.875, a=-0.25)}; better by at least the margin 0.25"
    )


def test_a_challenger_better_by_exactly_the_margin_is_promoted():
    gate = challenge(0.75, ari=0.0)
    assert gate.promoted is True
    assert gate.verdict.endswith("; better by at least the margin 0.25")


def test_a_challenger_within_the_margin_that_segments_alike_is_promoted():
    gate = challenge(0.375, ari=0.75)
    assert gate.promoted is True
    assert gate.verdict == (
        f"challenger v5 promoted: {MEASURED.format(s=0.375, a=0.75)}; "
        "as good within the margin 0.25 and segments alike (ARI >= 0.5)"
    )


def test_a_challenger_within_the_margin_with_exactly_the_minimum_ari_is_promoted():
    gate = challenge(0.625, ari=0.5)
    assert gate.promoted is True
    assert gate.verdict.endswith("; as good within the margin 0.25 and segments alike (ARI >= 0.5)")


def test_a_challenger_exactly_the_margin_below_the_champion_still_counts_as_within_it():
    gate = challenge(0.25, ari=0.5)
    assert gate.promoted is True
    assert gate.verdict.endswith("; as good within the margin 0.25 and segments alike (ARI >= 0.5)")


def test_a_challenger_within_the_margin_that_re_segments_the_customers_is_not_promoted():
    gate = challenge(0.625, ari=0.375)
    assert gate.promoted is False
    assert gate.verdict == (
        f"challenger v5 not promoted: {MEASURED.format(s=0.625, a=0.375)}; "
        "re-segments the customers (ARI < 0.5) without being better by the margin 0.25"
    )


def test_a_challenger_lower_by_more_than_the_margin_is_not_promoted_even_if_it_segments_alike():
    gate = challenge(0.125, ari=1.0)
    assert gate.promoted is False
    assert gate.verdict == (
        f"challenger v5 not promoted: {MEASURED.format(s=0.125, a=1.0)}; lower by more than the margin 0.25"
    )


def test_with_a_zero_margin_an_equal_silhouette_wins_and_a_lower_one_loses():
    assert challenge(0.5, ari=-1.0, margin=0.0).promoted is True
    lower = challenge(0.4999, ari=1.0, margin=0.0)
    assert lower.promoted is False
    assert lower.verdict.endswith("; lower by more than the margin 0.0")


def test_as_dict_holds_the_measurements_and_the_verdict():
    gate = challenge(0.625, ari=0.375)
    assert gate.as_dict() == {
        "challenger": 5,
        "champion": 3,
        "silhouette": 0.625,
        "champion_silhouette": 0.5,
        "adjusted_rand_index": 0.375,
        "margin": 0.25,
        "min_ari": 0.5,
        "promoted": False,
        "verdict": gate.verdict,
    }

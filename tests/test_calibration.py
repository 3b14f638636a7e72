"""Temperature scaling, calibration error and the unsure state, on real models and real images."""

from __future__ import annotations

import hashlib
import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnn_desktop import cli
from cnn_desktop.core import calibration as cal
from cnn_desktop.core.calibration import (Calibration, FeatureStatistics, calibrate_model_file,
                                          expected_calibration_error, fit_temperature, load_calibration)
from cnn_desktop.core.inference import Classifier
from cnn_desktop.core.model_io import card_path, load_model
from cnn_desktop.core.preprocessing import prepare_pixels


def _sampled_labels(logits: np.ndarray, rng) -> np.ndarray:
    """Labels drawn from softmax(logits): logits that are calibrated by construction."""
    probabilities = cal.calibrated_probabilities(logits, 1.0)
    cumulative = probabilities.cumsum(axis=1)
    return (rng.random((len(logits), 1)) > cumulative).sum(axis=1)


def test_fit_temperature_recovers_the_over_confidence_factor():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, (20_000, 10))
    labels = _sampled_labels(true_logits, rng)
    over_confident = 2.5 * true_logits  # what an over-confident network would output
    temperature = fit_temperature(over_confident, labels)
    assert temperature == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(cal.calibrated_probabilities(over_confident, 1.0), labels)
    after = expected_calibration_error(cal.calibrated_probabilities(over_confident, temperature), labels)
    assert before > 0.1 and after < 0.02
    assert cal.negative_log_likelihood(over_confident, labels, temperature) < cal.negative_log_likelihood(
        over_confident, labels)


def test_expected_calibration_error_by_hand():
    # Two bins used: 0.9 (two answers, one right: |0.5 - 0.9| = 0.4) and 0.6 (two answers, both right: 0.4).
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert expected_calibration_error(np.eye(3), np.arange(3)) == pytest.approx(0.0)


def test_hostile_card_values_fall_back_to_defaults():
    for card in ({}, None, {"temperature": "hot", "unsure": "yes"}, {"temperature": -1, "unsure": {"min_confidence": 7}},
                 {"temperature": float("nan"), "unsure": {"min_max_logit": float("inf"), "max_feature_distance": True}},
                 {"temperature": True, "unsure": {"min_confidence": None}}):
        calibration = Calibration.from_card(card)
        assert calibration == Calibration()
    fitted = Calibration.from_card({"temperature": 1.7, "unsure": {"min_confidence": 0.4, "min_max_logit": 3.0}})
    assert (fitted.temperature, fitted.min_confidence, fitted.min_max_logit) == (1.7, 0.4, 3.0)
    assert fitted.max_feature_distance is None  # no statistics given: no distance check


@pytest.fixture(scope="module")
def calibrated_quick_model(tmp_path_factory, quick_model_path, dataset):
    """The session's quick model, copied and calibrated on the last 2,000 training images."""
    folder = tmp_path_factory.mktemp("calibrated")
    path = folder / "quick.keras"
    shutil.copy(quick_model_path, path)
    card = json.loads(card_path(quick_model_path).read_text())
    card["limit"] = 3000  # as `cnn-desktop train --limit 3000` records it: trained on the first 3,000 only
    card_path(path).write_text(json.dumps(card))
    calibration, reports, fields = calibrate_model_file(path, data=dataset, holdout_count=2000,
                                                        feature_fit_count=3000, report_test=False)
    return path, calibration, reports, fields


def test_calibrating_a_model_writes_its_card_and_feature_statistics(calibrated_quick_model, dataset):
    path, calibration, reports, fields = calibrated_quick_model
    card = json.loads(card_path(path).read_text())
    assert card["temperature"] == pytest.approx(calibration.temperature)
    assert card["calibration"]["fitted_on"].startswith("training images 58000-59999")
    assert card["calibration"]["holdout_count"] == 2000
    # The quick model was trained on the first 3,000 images only: the last 2,000 really are held out.
    assert card["calibration"]["trained_on_holdout"] is False
    assert card["preset"] == "seed"  # the rest of the card is kept
    statistics_file = cal.feature_file(path)
    assert hashlib.sha256(statistics_file.read_bytes()).hexdigest() == card["unsure"]["feature_statistics_sha256"]
    held = reports[0]
    assert held.n == 2000 and held.nll_after <= held.nll_before + 1e-9
    # Each threshold flags 2% of the held-out images by construction; with low confidence on top, a few %.
    assert 0.02 <= held.unsure_share <= 0.25
    assert held.wrong_caught > held.right_flagged  # being unsure is about the wrong answers
    loaded = load_calibration(path, card)
    assert loaded.features is not None and loaded.max_feature_distance == pytest.approx(calibration.max_feature_distance)


def test_feature_statistics_that_are_not_the_recorded_ones_are_ignored(calibrated_quick_model, tmp_path):
    path, _calibration, _reports, _fields = calibrated_quick_model
    card = json.loads(card_path(path).read_text())
    copy = tmp_path / "copy.keras"
    tampered = cal.feature_file(copy)
    tampered.write_bytes(cal.feature_file(path).read_bytes()[:-10] + b"0123456789")
    calibration = load_calibration(copy, card)
    assert calibration.features is None and calibration.max_feature_distance is None
    assert calibration.min_max_logit == card["unsure"]["min_max_logit"]  # the rest of the card still counts
    tampered.unlink()
    assert load_calibration(copy, card).features is None  # missing
    tampered.mkdir()
    assert load_calibration(copy, card).features is None  # not a file


def test_feature_statistics_round_trip_and_refuse_wrong_shapes():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(600, 8))
    labels = np.repeat(np.arange(3), 200)
    features[labels == 1] += 4
    statistics = FeatureStatistics.fit(features, labels)
    again = FeatureStatistics.from_bytes(statistics.to_bytes())
    np.testing.assert_allclose(again.distances(features[:5]), statistics.distances(features[:5]), rtol=1e-5)
    # Squared Mahalanobis distance of 8-d standard normal data averages about 8.
    assert np.mean(statistics.distances(features)) == pytest.approx(8, rel=0.2)
    assert statistics.distances(np.full((1, 8), 30.0))[0] > 100
    import io

    buffer = io.BytesIO()
    np.savez(buffer, whitening=np.eye(4), whitened_means=np.zeros((3, 5)))
    with pytest.raises(ValueError):
        FeatureStatistics.from_bytes(buffer.getvalue())


def test_held_out_images_are_the_models_own_validation_split(dataset):
    from cnn_desktop.core.dataset import to_model_input
    from cnn_desktop.core.training import TrainingConfig, TrainingSession

    card = {"validation": "split", "seed": 3, "limit": 1000}
    held_out = cal.held_out_images(card, 60_000)
    assert not held_out.trained_on and len(held_out.indices) == 100
    # Exactly the images the training session validates on (and so never trains on).
    session = TrainingSession(TrainingConfig(preset="seed", validation="split", limit=1000, seed=3), data=dataset)
    _train_x, _train_y, validation_x, validation_y = session._arrays()
    np.testing.assert_array_equal(validation_x, to_model_input(dataset.train_images[held_out.indices]))
    np.testing.assert_array_equal(validation_y, dataset.train_labels[held_out.indices])
    # A range asked for instead: most of it was trained on by a split training; a full training saw all of it.
    assert cal.held_out_images(card, 60_000, count=500).trained_on
    assert cal.held_out_images({}, 60_000).trained_on
    assert list(cal.held_out_images({}, 60_000).indices[[0, -1]]) == [55_000, 59_999]
    assert not cal.held_out_images({"limit": 3000}, 60_000, count=2000).trained_on
    with pytest.raises(ValueError, match="outside"):
        cal.held_out_images({}, 60_000, count=10, start=59_995)


def _drawing(draw_on) -> np.ndarray:
    canvas = Image.new("L", (280, 280), 255)
    draw_on(ImageDraw.Draw(canvas))
    return prepare_pixels(np.asarray(canvas)).image


def test_classifier_is_unsure_about_what_is_not_clothing(calibrated_quick_model, quick_model_path, dataset):
    path, _calibration, _reports, _fields = calibrated_quick_model
    model, card = load_model(path)
    classifier = Classifier(model, load_calibration(path, card))
    rng = np.random.default_rng(3)
    odd = [_drawing(lambda d: d.ellipse((40, 40, 240, 240), outline=0, width=8)),
           _drawing(lambda d: d.rectangle((60, 50, 220, 230), outline=0, width=6))]
    for _ in range(10):
        points = [tuple(int(v) for v in rng.integers(20, 260, 2)) for _ in range(6)]
        odd.append(_drawing(lambda d, points=points: d.line(points, fill=0, width=9)))
    odd_unsure = np.mean([p.unsure for p in classifier.classify_batch(np.array(odd))])
    clothes = classifier.classify_batch(dataset.test_images[:500])
    clothes_unsure = np.mean([p.unsure for p in clothes])
    assert odd_unsure >= 0.5 and clothes_unsure <= 0.25 and odd_unsure > 2 * clothes_unsure
    reasons = {p.reason for p in clothes if p.unsure}
    assert reasons <= {"low_confidence", "weak_evidence", "unfamiliar"}


def test_classify_json_says_whether_it_is_unsure(calibrated_quick_model, tmp_path, capsys):
    path, _calibration, _reports, _fields = calibrated_quick_model
    ring = tmp_path / "ring.png"
    canvas = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(canvas).ellipse((40, 40, 260, 260), outline=0, width=10)
    canvas.save(ring)
    assert cli.main(["classify", str(ring), "--model", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert isinstance(record["unsure"], bool)
    assert (record["reason"] is None) != record["unsure"]
    assert bool(record["hints"]) == record["unsure"]
    assert math.isclose(sum(record["probabilities"]), 1, abs_tol=1e-4)

"""Classifier and feature maps on a real trained model."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_desktop import config
from cnn_desktop.core.evaluation import evaluate, predict_logits
from cnn_desktop.core.inference import Classifier, FeatureExtractor
from cnn_desktop.core.model_io import load_model


@pytest.fixture(scope="module")
def quick_model(quick_model_path):
    model, _ = load_model(quick_model_path)
    return model


def test_classify_one_image_gives_ten_probabilities_and_top_class(quick_model, dataset):
    classifier = Classifier(quick_model)
    prediction = classifier.classify(dataset.test_images[1])
    assert prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert prediction.label == config.CLASS_NAMES[prediction.index]
    assert prediction.index == int(np.argmax(prediction.probabilities))
    top = prediction.top_k(3)
    assert [name for name, _ in top][0] == prediction.label
    assert top[0][1] >= top[1][1] >= top[2][1]


def test_direct_calls_match_keras_predict(quick_model, dataset):
    classifier = Classifier(quick_model)
    images = dataset.test_images[:64].astype(np.float32) / 255
    batch = classifier.logits(images)
    reference = quick_model.predict(images[..., None], verbose=0)
    np.testing.assert_allclose(batch, reference, rtol=1e-4, atol=1e-4)
    singles = [classifier.classify(image).index for image in images[:8]]
    assert singles == [p.index for p in classifier.classify_batch(images[:8])]


def test_bad_shapes_are_refused(quick_model):
    with pytest.raises(ValueError, match="28x28"):
        Classifier(quick_model).classify(np.zeros((32, 32)))


def test_evaluation_confusion_and_hardest(quick_model, dataset):
    result = evaluate(quick_model, dataset.test_images, dataset.test_labels)
    assert result.n == 10_000
    assert result.confusion.sum() == 10_000
    assert np.trace(result.confusion) == round(result.accuracy * 10_000)
    cell = result.indices_for_cell(6, 0)
    assert all(dataset.test_labels[i] == 6 and result.predictions[i] == 0 for i in cell)
    hardest = result.hardest(20)
    confidences = result.probabilities[hardest, result.predictions[hardest]]
    assert np.all(result.predictions[hardest] != result.labels[hardest])
    assert np.all(np.diff(confidences) <= 0)
    np.testing.assert_allclose(predict_logits(quick_model, dataset.test_images[:10]),
                               quick_model(dataset.test_images[:10, ..., None] / 255.0), atol=1e-4)


def test_feature_maps_for_every_conv_and_pool_layer(quick_model, dataset):
    extractor = FeatureExtractor(quick_model)
    maps = extractor.feature_maps(dataset.test_images[0])
    assert list(maps) == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2"]
    assert maps["conv2d"].shape == (28, 28, 32)
    assert maps["max_pooling2d"].shape == (14, 14, 32)
    assert maps["conv2d_2"].shape == (7, 7, 64)
    # Pooling really is the 2x2 maximum of the conv layer before it.
    conv = maps["conv2d"]
    pooled = conv.reshape(14, 2, 14, 2, 32).max(axis=(1, 3))
    np.testing.assert_allclose(maps["max_pooling2d"], pooled, rtol=1e-5, atol=1e-6)
    assert extractor.filters("conv2d").shape == (3, 3, 1, 32)
    assert extractor.filters("conv2d_1").shape == (3, 3, 32, 64)
    with pytest.raises(ValueError, match="not a convolution"):
        extractor.filters("max_pooling2d")


def test_temperature_scales_the_probabilities_but_not_the_answer(quick_model, dataset):
    from cnn_desktop.core.calibration import Calibration, calibrated_probabilities

    plain = Classifier(quick_model)
    warm = Classifier(quick_model, Calibration(temperature=2.0))
    images = dataset.test_images[:32]
    logits = plain.logits(images)
    np.testing.assert_allclose(warm.probabilities(images), calibrated_probabilities(logits, 2.0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(plain.probabilities(images), calibrated_probabilities(logits, 1.0), rtol=1e-4, atol=1e-6)
    assert [p.index for p in warm.classify_batch(images)] == [p.index for p in plain.classify_batch(images)]
    assert all(w.confidence < p.confidence for w, p in zip(warm.classify_batch(images), plain.classify_batch(images)))


def test_unsure_state_and_its_reason_reach_the_prediction(quick_model, dataset):
    from cnn_desktop.core.calibration import Calibration
    from cnn_desktop.core.inference import HINTS, UNSURE_REASONS, unsure_hints

    image = dataset.test_images[0]
    sure = Classifier(quick_model, Calibration(min_confidence=0.0)).classify(image)
    assert not sure.unsure and sure.reason == "" and sure.message == ""
    assert sure.to_dict()["unsure"] is False and sure.to_dict()["reason"] is None
    doubtful = Classifier(quick_model, Calibration(min_confidence=1.0)).classify(image)  # nothing is that sure
    assert doubtful.unsure and doubtful.reason == "low_confidence" and doubtful.message
    weak = Classifier(quick_model, Calibration(min_confidence=0.0, min_max_logit=1e6)).classify(image)
    assert weak.reason == "weak_evidence" and weak.reason in UNSURE_REASONS
    assert doubtful.to_dict()["unsure"] is True
    assert all(key in HINTS for source in ("drawing", "photo") for key in unsure_hints(source))
    assert unsure_hints("drawing") == ("fill_outline",)


def test_feature_statistics_of_another_width_are_not_used(quick_model, dataset):
    from cnn_desktop.core.calibration import Calibration, FeatureStatistics

    wrong = FeatureStatistics(np.eye(7, dtype=np.float32), np.zeros((10, 7), np.float32))
    classifier = Classifier(quick_model, Calibration(max_feature_distance=1.0, features=wrong))
    assert classifier.calibration.features is None
    assert classifier.classify(dataset.test_images[0]).probabilities.shape == (10,)

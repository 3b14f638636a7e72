"""A run trained elsewhere imported from its model card: hostile cards give one line and record nothing."""

from __future__ import annotations

import json

import pytest

from cnn_desktop.core.run_import import RunImportError, import_run
from cnn_desktop.core.run_store import RunStore


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs") as opened:
        yield opened


def _model_with_card(folder, card_text):
    model = folder / "server.keras"
    model.write_bytes(b"not read by the import")
    (folder / "server.card.json").write_text(card_text)
    return model


@pytest.mark.parametrize("card_text, reason", [
    (None, "no readable model card"),
    ("{not json", "no readable model card"),
    ("[1, 2]", "no readable model card"),
    ('{"name": "x"}', "records no training history"),
    ('{"history": {"loss": []}}', "records no training history"),
])
def test_cards_that_cannot_become_runs(store, tmp_path, card_text, reason):
    model = _model_with_card(tmp_path, card_text or "{}")
    if card_text is None:
        (tmp_path / "server.card.json").unlink()
    with pytest.raises(RunImportError, match=reason) as info:
        import_run(store, model)
    assert "\n" not in str(info.value) and store.list_runs() == []


def test_odd_values_in_a_card_are_recorded_as_missing(store, tmp_path):
    card = {"name": "odd", "status": "cancelled", "seed": "zero", "test_accuracy": 0.9, "test_loss": "low",
            "history": {"loss": [1.0, "nan?", None], "val_accuracy": [0.5, 0.6]}, "design": [1]}
    run = store.get_run(import_run(store, _model_with_card(tmp_path, json.dumps(card))))
    assert run.status == "stopped" and run.seed is None and run.design is None and run.test_accuracy is None
    assert [epoch.loss for epoch in run.epochs] == [1.0, None, None]
    assert [epoch.val_accuracy for epoch in run.epochs] == [0.5, 0.6, None]

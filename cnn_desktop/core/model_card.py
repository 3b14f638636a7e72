"""The model card of a model trained here, by the command line or the app: one builder for both."""

from __future__ import annotations

from cnn_desktop import config
from cnn_desktop.core.model_io import make_card


def training_card(training_config, result=None, *, evaluation=None, preset: str | None = None,
                  dataset_checksum: str | None = None, parameters: int | None = None, name: str | None = None,
                  **extra) -> dict:
    """The card of a model trained with ``training_config`` (resolved).

    ``result``: the core TrainingResult (None while the training runs);
    ``evaluation``: its test-set Evaluation when known; ``preset``: the name
    to record when it is not the config's (a continued model's own preset).
    ``extra`` fields are added as they are.
    """
    preset = preset or training_config.preset
    design = getattr(training_config, "design", None)
    fields = dict(
        preset=preset,
        epochs=None if result is None else result.epochs_completed,
        batch_size=training_config.batch_size,
        learning_rate=training_config.learning_rate,
        test_accuracy=None if evaluation is None else round(float(evaluation.accuracy), 6),
        test_loss=None if evaluation is None else round(float(evaluation.loss), 6),
        training_seconds=None if result is None else round(result.seconds, 1),
        dataset_checksum=dataset_checksum,
        parameters=parameters if parameters is not None or result is None else int(result.model.count_params()),
        status="training" if result is None else result.status,
        limit=training_config.limit,
        train_images=training_config.limit or config.TRAIN_SIZE,
        seed=training_config.seed,
        validation=training_config.validation,
        early_stopping_patience=training_config.early_stopping_patience,
        continued=training_config.continue_training,
        devices=str(training_config.devices),  # core.devices choice: auto, cpu, gpu, all or N
        mixed_precision=training_config.mixed_precision,
    )
    if result is not None:
        fields.update(
            best_epoch=result.best_epoch,
            images_per_second=round(result.images_per_second, 1),
            history={key: [round(value, 6) for value in values] for key, values in result.history.items()},
        )
    if design is not None:
        fields["design"] = design.to_dict()
    if name is not None:
        fields["name"] = name
    return make_card(**{**fields, **extra})

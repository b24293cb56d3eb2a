"""One text path: the preprocessing job, the training input pipeline, the Python synthesizer and the export's symbol
signature feed the model the same ids for the same sentence, on both frontends."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from tacotron import dataset, features, text
from tacotron.serving.inference import prepare_text, text_batch
from tacotron.text import frontend
from tacotron.text.frontend import Frontend
from tacotron.text.symbol_ids import SymbolIds
from tests.conftest import REPO
from tests.corpus_factory import speech, speech_seconds

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow

# Currency, percentages, times, dates, ordinals, years, abbreviations, initials, numbers up to millions, Unicode
# quotes and dashes, mixed case, and every class of tacotron.text.classes.
TRICKY = [
    "It costs $5.", "Pay $3.50 now.", "That is £12.99 in total.", "Save €200 today.", "A $1.5 million deal.",
    "Prices rose 10%.", "Only 0.5% agreed.", "Nearly 99.9% pure.", "Meet me at 3:30.", "The train leaves at 7:05 pm.",
    "Wake up at 6am!", "Lunch is at 12:00.", "It was 11:59 p.m. on May 4th.", "Born on July 4, 1976.",
    "The 21st of March, 2024.", "In 1905 they left.", "By 2008 it was over.", "The year 1800 began.",
    "Read the 1st, 2nd and 3rd parts.", "The 100th visitor won.", "Mr. Smith is here.", "Mrs. Jones agreed.",
    "Dr. Lee and Prof. Park met.", "St. Louis is far.", "Apples, pears, etc.", "Cats vs. dogs.",
    "Fruit, e.g. plums.", "A rule, i.e. a law.", "Gen. Grant rode on.", "J. R. Tolkien wrote it.",
    "Call J. F. K. today.", "Room no. 5 is free.", "Ticket #42 won.", "There were 7 cats.", "We had 42 eggs.",
    "About 1,234 people came.", "Some 56,789 votes.", "Exactly 1,000,000 stars.", "Nearly 3,456,789 miles.",
    "It is -5 degrees.", "Pi is 3.14.", "Version 2.0 shipped.", "Agent 007 smiled.", "\u201cHello,\u201d she said.",
    "\u2018Quiet,\u2019 he whispered.", "Wait \u2014 what was that?", "Pages 10\u201320 are torn.", "It\u2019s fine.",
    "SHOUTING IS RUDE!", "The NASA team won.", "iPhone users agreed.", "McDonald met O\u2019Brien.",
    "Rock & roll forever.", "Email me @ noon.", "A well-known fact.", "Yes; no: maybe.", "(Quietly) they left.",
    "Caf\u00e9 au lait, s\u2019il vous pla\u00eet.", "Na\u00efve fa\u00e7ade.", "It\u2019s 5 o\u2019clock.",
    "Five \u00d7 three is fifteen.", "Half \u00bd a cup.",
    # The classes a telephone voice reads (tacotron.text.classes).
    "Please call 555-0147.", "Dial (800) 555-0199 ext. 12.", "It happened on 2026-01-15.", "Due 1/15/2026, Tue.",
    "Doors close at 21:30.", "Open 9-5 daily.", "Your order 48213 shipped.", "Code XK-4492 expires.",
    "It weighs 5 kg.", "A 5 lb bag.", "It is 72\u00b0F outside.", "Add 1/2 cup.", "Wait 2 1/2 hours.",
    "Rates fell 0.25%.", "The 1990s were loud.", "World War II ended.", "Henry VIII had six wives.",
    "St. Louis is on Main St.", "Dr. Lee lives on Oak Dr.", "Write to john.doe@example.com today.",
    "Visit www.example.org/help.", "Press # or * now.", "AT&T and R&D.", "2 x 3 = 6.", "Your APR is 3.5%.",
    "Yes/no, and/or.", "Rx #6023145 is ready.",
]


def test_every_tricky_class_is_covered():
    assert len(TRICKY) >= 85


@pytest.fixture(scope="module")
def tricky_data(tmp_path_factory):
    """The sentences as a corpus (speech-like tones at a plausible rate), preprocessed by the real Beam job."""
    corpus = tmp_path_factory.mktemp("tricky")
    (corpus / "wavs").mkdir()
    lines = []
    for index, sentence in enumerate(TRICKY):
        clip = f"t{index:03d}"
        sf.write(corpus / "wavs" / f"{clip}.wav", speech(speech_seconds(sentence, index, 20.0), 16000, index), 16000)
        lines.append(f"{clip}|{sentence}")
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path_factory.mktemp("tricky_data")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(output),
         "--eval_fraction", "0", "--rate_outlier_k", "1000"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


def _records(data_dir) -> dict[str, dict]:
    records = {}
    for path in dataset.split_files(str(data_dir), features.TRAIN_PREFIX):
        for serialized in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            example = features.parse_example(serialized)
            records[example[features.ID].numpy().decode()] = {k: v.numpy() for k, v in example.items()}
    return records


@pytest.mark.parametrize("name", frontend.FRONTENDS)
def test_every_path_feeds_the_same_ids(tricky_data, name):
    reader = Frontend(name)
    records = _records(tricky_data)
    assert len(records) == len(TRICKY), "the job rejected some sentences"
    vocabulary_path = str(tricky_data / "transform_fn" / "assets" / features.vocabulary_name(name))
    info = dataset.inspect_data(str(tricky_data), frontend=name)
    symbol_ids = SymbolIds(vocabulary_path)
    _, ids_name, length_name = features.FRONTEND_FEATURES[name]
    for index, sentence in enumerate(TRICKY):
        record = records[f"t{index:03d}"]
        preprocessed = record[ids_name].tolist()
        assert len(preprocessed) == record[length_name]
        # Python: tacotron-synthesize, the Python API and evaluation all go through prepare_text and text_batch.
        (chunk,) = prepare_text(sentence, 200, reader)
        assert chunk == record[features.TEXT].decode()
        ids, lengths = text_batch([chunk], info.vocabulary, reader)
        assert ids[0, : lengths[0]].tolist() == preprocessed, sentence
        # The export's symbol signature, fed what tacotron.serving.export.ExportedModel feeds it.
        graph_ids, graph_lengths = symbol_ids(tf.constant([reader.symbol_string(chunk)]))
        assert graph_ids.numpy()[0, : graph_lengths.numpy()[0]].tolist() == preprocessed, sentence
        assert text.oov_id(info.vocabulary) not in preprocessed


def test_the_training_input_pipeline_reads_the_chosen_frontend(tricky_data):
    records = _records(tricky_data)
    for name in frontend.FRONTENDS:
        info = dataset.inspect_data(str(tricky_data), frontend=name)
        buckets = dataset.make_buckets(info.n_frames["train"], info.text_lengths["train"], 1, 4)
        batches = dataset.make_dataset(info, "train", 8, buckets, shuffle_buffer=0, repeat=False, keep_text=True,
                                       drop_remainder=False)
        _, ids_name, _ = features.FRONTEND_FEATURES[name]
        seen = 0
        for batch in batches:
            for row, clip_id, length in zip(batch[features.TEXT_IDS].numpy(), batch[features.ID].numpy(),
                                            batch[features.TEXT_LENGTH].numpy(), strict=True):
                np.testing.assert_array_equal(row[:length], records[clip_id.decode()][ids_name])
                seen += 1
        assert seen == len(TRICKY)

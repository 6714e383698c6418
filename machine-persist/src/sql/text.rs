//! Text columns with a fixed vocabulary: codec names and event metadata.

use std::borrow::Cow;

use crate::EventMetadata;

/// A codec name read from the store, without allocating for the built-in codecs.
pub(crate) fn codec_name(stored: &str) -> Cow<'static, str> {
    match stored {
        "json" => Cow::Borrowed("json"),
        "msgpack" => Cow::Borrowed("msgpack"),
        other => Cow::Owned(other.to_owned()),
    }
}

/// Event metadata as stored: a JSON object (`{}` for the common empty one, without encoding it).
pub(crate) fn metadata_text(
    metadata: &EventMetadata,
) -> Result<Cow<'static, str>, serde_json::Error> {
    if *metadata == EventMetadata::default() {
        Ok(Cow::Borrowed(EMPTY_METADATA))
    } else {
        Ok(Cow::Owned(serde_json::to_string(metadata)?))
    }
}

/// Event metadata read back; the common empty object costs no parsing.
pub(crate) fn metadata_from_text(text: &str) -> Result<EventMetadata, serde_json::Error> {
    if text == EMPTY_METADATA {
        Ok(EventMetadata::default())
    } else {
        serde_json::from_str(text)
    }
}

/// The stored text of empty metadata, what almost every event has.
pub(crate) const EMPTY_METADATA: &str = "{}";

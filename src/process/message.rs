//! Messages: a safetensors file whose string metadata says what the message is, and whose
//! tensors carry the data. Decoding checks everything; nothing in a message is trusted.

use std::collections::{BTreeMap, HashMap};

use crosscheck_spec::Precision;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// One tensor on the wire: its dtype, its shape in memory order and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct WireTensor {
    /// Element type.
    pub precision: Precision,
    /// Shape in memory order (row-major).
    pub shape: Vec<usize>,
    /// Little-endian element bytes.
    pub bytes: Vec<u8>,
}

/// A decoded message: metadata and named tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// The `__metadata__` strings.
    pub metadata: BTreeMap<String, String>,
    /// The tensors, by name.
    pub tensors: BTreeMap<String, WireTensor>,
}

/// Why bytes are not a valid message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Not a safetensors file.
    #[error("bytes that are not a safetensors file ({0})")]
    Malformed(String),
    /// A tensor of a dtype crosscheck does not use.
    #[error(
        "a tensor `{name}` of dtype {dtype}, where crosscheck exchanges only F32, F16, BF16 and U8"
    )]
    Dtype {
        /// Tensor name.
        name: String,
        /// Its dtype as safetensors names it.
        dtype: String,
    },
    /// A required metadata key is missing.
    #[error("a message without `{0}` in its metadata")]
    Missing(String),
}

impl Message {
    /// A message of type `kind` with no other metadata and no tensors.
    pub fn of_type(kind: &str) -> Message {
        let mut m = Message::default();
        m.set("type", kind);
        m
    }

    /// Sets a metadata string.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.metadata.insert(key.to_string(), value.into());
    }

    /// A metadata string, or an error naming it.
    pub fn get(&self, key: &str) -> Result<&str, MessageError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| MessageError::Missing(key.to_string()))
    }

    /// The message's `type`.
    pub fn kind(&self) -> Result<&str, MessageError> {
        self.get("type")
    }

    /// Encodes as a safetensors file.
    pub fn encode(&self) -> Vec<u8> {
        let views: Vec<(String, TensorView)> = self
            .tensors
            .iter()
            .map(|(name, t)| {
                let view = TensorView::new(dtype_of(t.precision), t.shape.clone(), &t.bytes)
                    .expect("a wire tensor's bytes match its shape");
                (name.clone(), view)
            })
            .collect();
        let metadata: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        safetensors::serialize(views, Some(metadata)).expect("a message serialises")
    }

    /// Decodes a safetensors file, checking its header, offsets and dtypes.
    pub fn decode(bytes: &[u8]) -> Result<Message, MessageError> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| MessageError::Malformed(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| MessageError::Malformed(e.to_string()))?;
        let mut message = Message {
            metadata: header
                .metadata()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            tensors: BTreeMap::new(),
        };
        for (name, view) in file.tensors() {
            let precision = precision_of(view.dtype()).ok_or_else(|| MessageError::Dtype {
                name: name.clone(),
                dtype: format!("{:?}", view.dtype()),
            })?;
            let tensor = WireTensor {
                precision,
                shape: view.shape().to_vec(),
                bytes: view.data().to_vec(),
            };
            message.tensors.insert(name, tensor);
        }
        Ok(message)
    }
}

/// The safetensors dtype of a storage precision.
pub fn dtype_of(precision: Precision) -> Dtype {
    match precision {
        Precision::F32 => Dtype::F32,
        Precision::F16 => Dtype::F16,
        Precision::BF16 => Dtype::BF16,
        Precision::U8 => Dtype::U8,
    }
}

/// The storage precision of a safetensors dtype, if crosscheck uses it.
pub fn precision_of(dtype: Dtype) -> Option<Precision> {
    match dtype {
        Dtype::F32 => Some(Precision::F32),
        Dtype::F16 => Some(Precision::F16),
        Dtype::BF16 => Some(Precision::BF16),
        Dtype::U8 => Some(Precision::U8),
        _ => None,
    }
}

/// The safetensors name of a precision's dtype (`F32`, `F16`, `BF16`, `U8`).
pub fn dtype_name(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "F32",
        Precision::F16 => "F16",
        Precision::BF16 => "BF16",
        Precision::U8 => "U8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let mut m = Message::of_type("run");
        m.set("case", "x");
        m.tensors.insert(
            "A".into(),
            WireTensor {
                precision: Precision::BF16,
                shape: vec![2, 1],
                bytes: vec![1, 2, 3, 4],
            },
        );
        let bytes = m.encode();
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        assert!(matches!(
            Message::decode(&bytes[..bytes.len() - 1]),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(b"garbage!garbage!"),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(Message::default().kind(), Err(MessageError::Missing(k)) if k == "type"));
    }
}

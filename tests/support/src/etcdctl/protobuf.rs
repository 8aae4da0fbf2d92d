//! `-w protobuf` output as text a transcript can hold and normalize: etcdctl
//! prints the response message's raw bytes, where the cluster and member ids are
//! varints of the header. The top-level fields are listed one per line, the header
//! (field 1 of every response etcdctl prints this way) field by field in decimal,
//! so the ids get their labels; any other bytes are shown in hex.

/// `bytes` (one marshalled response) as text: `1{1=<cluster id> 2=<member id>
/// 3=<revision> 4=<raft term>}` for the header, then `<field>=<varint>` or
/// `<field>:<hex>` per field; all of `bytes` in hex if they do not parse.
pub fn render(bytes: &[u8]) -> String {
    fields(bytes)
        .map(|fs| {
            fs.iter()
                .map(|(n, v)| match v {
                    Value::Varint(x) => format!("{n}={x}\n"),
                    Value::Bytes(b) if *n == 1 => match fields(b) {
                        Some(h) if h.iter().all(|(_, v)| matches!(v, Value::Varint(_))) => {
                            let inner: Vec<String> = h
                                .iter()
                                .map(|(n, v)| match v {
                                    Value::Varint(x) => format!("{n}={x}"),
                                    Value::Bytes(_) => String::new(),
                                })
                                .collect();
                            format!("1{{{}}}\n", inner.join(" "))
                        }
                        _ => format!("1:{}\n", hex(b)),
                    },
                    Value::Bytes(b) => format!("{n}:{}\n", hex(b)),
                })
                .collect()
        })
        .unwrap_or_else(|| format!("{}\n", hex(bytes)))
}

/// One field's value: a varint or length-delimited bytes (the only wire types
/// etcd's responses use).
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The fields of one message, in order; `None` if `bytes` is not one.
fn fields(mut bytes: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let value = match key & 7 {
            0 => Value::Varint(varint(&mut bytes)?),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (v, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                bytes = rest;
                Value::Bytes(v)
            }
            _ => return None,
        };
        out.push((key >> 3, value));
    }
    Some(out)
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        x |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(x);
        }
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_a_range_response() {
        // etcd 3.4.23's `get a -w protobuf`.
        let bytes = [
            0x0a, 0x1b, 0x08, 0xb2, 0x98, 0xea, 0xf1, 0x94, 0x83, 0x86, 0xfc, 0xcd, 0x01, 0x10,
            0xcd, 0xd2, 0x91, 0x8b, 0xd2, 0xb8, 0x81, 0xcf, 0x8e, 0x01, 0x18, 0xd6, 0x01, 0x20,
            0x03, 0x12, 0x0d, 0x0a, 0x01, 0x61, 0x10, 0x02, 0x18, 0xd6, 0x01, 0x20, 0x03, 0x2a,
            0x01, 0x31, 0x20, 0x01,
        ];
        assert_eq!(
            render(&bytes),
            "1{1=14841639068965178418 2=10276657743932975437 3=214 4=3}\n\
             2:0a0161100218d60120032a0131\n\
             4=1\n"
        );
    }

    #[test]
    fn shows_what_does_not_parse_in_hex() {
        assert_eq!(render(&[0x0a, 0x05, 0x01]), "0a0501\n");
        assert_eq!(render(b""), "");
    }
}

//! Flink's MAP and ARRAY functions that DataFusion lacks or evaluates differently:
//! `MAP[k, v, …]`, `STR_TO_MAP`, `MAP_UNION`, `ELEMENT`, `REGEXP_EXTRACT_ALL`.
//!
//! Semantics follow Flink 2.3 (checked by running it): `MAP[…]` keeps the first position of a
//! key and the last value given for it; `STR_TO_MAP(s, listDelimiter = ',', kvDelimiter = '=')`
//! splits with Java's `String.split` on regular expressions and iterates like the `HashMap` Flink
//! builds (so `{=3, a=2}` prints as Flink prints it); `MAP_UNION(m1, m2, …)` lets later maps win
//! and lists the last map's entries first; `ELEMENT([x])` is `x`, NULL for an empty array and an
//! error for more than one element; `REGEXP_EXTRACT_ALL(s, re, group = 1)` is every match's
//! group (NULL elements where the group did not take part), NULL when the group index is out of
//! range; `COLLECT(x)` is `flink_multiset(array_agg(x))`, Flink's multiset as a map of counts
//! in the order Flink's `HashMap` iterates (see [`multiset`]).

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, GenericListArray, Int64Array, ListBuilder, MapArray,
    MapBuilder, MapFieldNames, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, interleave};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CollectionFn {
    /// `flink_map(k1, v1, …)`, from `MAP[k1, v1, …]`.
    Map,
    /// `str_to_map(s [, list_delimiter, kv_delimiter])` → `MAP<STRING, STRING>`.
    StrToMap,
    /// `map_union(m1, m2, …)`.
    MapUnion,
    /// `element(array)`.
    Element,
    /// `regexp_extract_all(s, re [, group])` → `ARRAY<STRING>`.
    RegexpExtractAll,
    /// `flink_multiset(array_agg(x))`, from `COLLECT(x)`: `MULTISET<T>` as `MAP<T, INT>`.
    Multiset,
}

/// One of [`CollectionFn`] as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CollectionUdf {
    kind: CollectionFn,
    signature: Signature,
}

impl CollectionUdf {
    pub(crate) fn new(kind: CollectionFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// DataFusion's map type: `entries: Struct<key, value>`.
fn map_type(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new("entries", entries_type(key, value), false)),
        false,
    )
}

fn entries_type(key: DataType, value: DataType) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]))
}

impl ScalarUDFImpl for CollectionUdf {
    fn name(&self) -> &str {
        match self.kind {
            CollectionFn::Map => "flink_map",
            CollectionFn::StrToMap => "str_to_map",
            CollectionFn::MapUnion => "map_union",
            CollectionFn::Element => "element",
            CollectionFn::RegexpExtractAll => "regexp_extract_all",
            CollectionFn::Multiset => "flink_multiset",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name().to_uppercase();
        match self.kind {
            CollectionFn::Map => {
                if t.is_empty() || t.len() % 2 == 1 {
                    return plan_err!("MAP[…] takes key, value pairs");
                }
                let keys: Vec<DataType> = t.iter().step_by(2).cloned().collect();
                let values: Vec<DataType> = t.iter().skip(1).step_by(2).cloned().collect();
                let (Some(k), Some(v)) =
                    (type_union_resolution(&keys), type_union_resolution(&values))
                else {
                    return plan_err!("MAP[…]: keys and values must each have a common type");
                };
                Ok((0..t.len())
                    .map(|i| if i % 2 == 0 { k.clone() } else { v.clone() })
                    .collect())
            }
            CollectionFn::StrToMap if (1..=3).contains(&t.len()) => {
                Ok(vec![DataType::Utf8; t.len()])
            }
            CollectionFn::MapUnion if !t.is_empty() => {
                if !t
                    .iter()
                    .all(|d| matches!(d, DataType::Map(..) | DataType::Null))
                {
                    return plan_err!("MAP_UNION takes maps");
                }
                match t.iter().find(|d| matches!(d, DataType::Map(..))) {
                    Some(m) if t.iter().all(|d| d == m || d.is_null()) => {
                        Ok(vec![m.clone(); t.len()])
                    }
                    _ => plan_err!("MAP_UNION: the maps must have the same type"),
                }
            }
            CollectionFn::Element if t.len() == 1 => match &t[0] {
                DataType::List(_) => Ok(t.to_vec()),
                DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                    Ok(vec![DataType::List(f.clone())])
                }
                other => plan_err!("ELEMENT takes an array, got {other}"),
            },
            CollectionFn::RegexpExtractAll if (2..=3).contains(&t.len()) => {
                let mut v = vec![DataType::Utf8, DataType::Utf8];
                if t.len() == 3 {
                    v.push(DataType::Int64);
                }
                Ok(v)
            }
            CollectionFn::Multiset if t.len() == 1 => match &t[0] {
                DataType::List(f) if java_hashable(f.data_type()) => Ok(t.to_vec()),
                DataType::List(f) => plan_err!(
                    "COLLECT over {}: unsupported — run it on a Flink cluster",
                    f.data_type()
                ),
                other => plan_err!("COLLECT: expected an array, got {other}"),
            },
            _ => plan_err!("{name}: wrong number of arguments ({})", t.len()),
        }
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            CollectionFn::Map => map_type(t[0].clone(), t[1].clone()),
            CollectionFn::StrToMap => map_type(DataType::Utf8, DataType::Utf8),
            CollectionFn::MapUnion => t
                .iter()
                .find(|d| !d.is_null())
                .cloned()
                .unwrap_or(DataType::Null),
            CollectionFn::Element => match &t[0] {
                DataType::List(f) => f.data_type().clone(),
                other => return plan_err!("ELEMENT takes an array, got {other}"),
            },
            CollectionFn::RegexpExtractAll => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            }
            CollectionFn::Multiset => match &t[0] {
                DataType::List(f) => map_type(f.data_type().clone(), DataType::Int32),
                other => return plan_err!("COLLECT: expected an array, got {other}"),
            },
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let out = match self.kind {
            CollectionFn::Map => map_constructor(&arrays, n)?,
            CollectionFn::StrToMap => str_to_map(&arrays, n)?,
            CollectionFn::MapUnion => map_union(&arrays, args.return_field.data_type(), n)?,
            CollectionFn::Element => element(&arrays[0], n)?,
            CollectionFn::RegexpExtractAll => regexp_extract_all(&arrays, n)?,
            CollectionFn::Multiset => multiset(&arrays[0], n)?,
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// One map entry to gather: key `keys[k_src][k_row]`, value `values[v_src][v_row]`.
type Entry = (usize, usize, usize, usize);

/// Gathers entries into a map column; `rows[r]` is `None` for a NULL map.
fn build_map(
    keys: &[&dyn Array],
    values: &[&dyn Array],
    rows: &[Option<Vec<Entry>>],
) -> Result<ArrayRef> {
    let key_type = keys[0].data_type().clone();
    let value_type = values[0].data_type().clone();
    let mut k_idx = Vec::new();
    let mut v_idx = Vec::new();
    let mut offsets = vec![0i32];
    for row in rows {
        for &(ks, kr, vs, vr) in row.iter().flatten() {
            k_idx.push((ks, kr));
            v_idx.push((vs, vr));
        }
        offsets.push(k_idx.len() as i32);
    }
    let k = if k_idx.is_empty() {
        new_null_array(&key_type, 0)
    } else {
        interleave(keys, &k_idx)?
    };
    let v = if v_idx.is_empty() {
        new_null_array(&value_type, 0)
    } else {
        interleave(values, &v_idx)?
    };
    let DataType::Struct(fields) = entries_type(key_type, value_type) else {
        unreachable!("entries_type is a struct")
    };
    let entries = StructArray::try_new(fields.clone(), vec![k, v], None)?;
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(MapArray::try_new(
        Arc::new(Field::new("entries", DataType::Struct(fields), false)),
        OffsetBuffer::new(offsets.into()),
        entries,
        Some(nulls),
        false,
    )?))
}

fn map_constructor(arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let pairs = arrays.len() / 2;
    let mut rows = Vec::with_capacity(n);
    for r in 0..n {
        let mut seen: Vec<ScalarValue> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        for p in 0..pairs {
            let key = ScalarValue::try_from_array(&arrays[2 * p], r)?;
            if key.is_null() {
                return exec_err!("MAP[…]: a key is NULL");
            }
            match seen.iter().position(|k| *k == key) {
                Some(at) => {
                    entries[at].2 = p;
                    entries[at].3 = r;
                }
                None => {
                    seen.push(key);
                    entries.push((p, r, p, r));
                }
            }
        }
        rows.push(Some(entries));
    }
    let keys: Vec<&dyn Array> = (0..pairs).map(|p| arrays[2 * p].as_ref()).collect();
    let values: Vec<&dyn Array> = (0..pairs).map(|p| arrays[2 * p + 1].as_ref()).collect();
    build_map(&keys, &values, &rows)
}

/// Java's `String.split(regex)` (limit 0: trailing empty strings dropped) or with `limit`.
fn java_split<'a>(s: &'a str, re: &regex::Regex, limit: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    for m in re.find_iter(s) {
        if limit > 0 && out.len() + 1 == limit {
            break;
        }
        // A zero-width match at the beginning never gives a leading empty string.
        if m.end() == 0 {
            continue;
        }
        out.push(&s[start..m.start()]);
        start = m.end();
    }
    if out.is_empty() && start == 0 {
        return vec![s];
    }
    out.push(&s[start..]);
    if limit == 0 {
        while out.len() > 1 && out.last().is_some_and(|t| t.is_empty()) {
            out.pop();
        }
        if out.len() == 1 && out[0].is_empty() && !s.is_empty() {
            out.clear();
        }
    }
    out
}

/// Whether [`java_key_hash`] knows the `hashCode` Flink's internal value of this type has.
fn java_hashable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Boolean
            | DataType::Date32
    )
}

/// MurmurHash3 x86_32 as Flink's `MurmurHashUtil.hashBytes` computes it (seed 42; whole
/// little-endian words, then each tail byte, sign-extended, as its own block): the
/// `hashCode` of a `BinaryStringData`.
fn flink_murmur(b: &[u8]) -> u32 {
    let mix_k = |k: u32| {
        k.wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593)
    };
    let mix_h = |h: u32, k: u32| {
        (h ^ k)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64)
    };
    let mut h = 42u32;
    let words = b.len() / 4 * 4;
    for w in b[..words].chunks_exact(4) {
        h = mix_h(h, mix_k(u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
    }
    for &t in &b[words..] {
        h = mix_h(h, mix_k(t as i8 as i32 as u32));
    }
    h ^= b.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The Java `hashCode` of Flink's internal value for `v` (see [`java_hashable`]), spread as
/// `HashMap` spreads it.
fn java_key_hash(v: &ScalarValue) -> Result<u32> {
    let long = |x: i64| (x ^ ((x as u64) >> 32) as i64) as u32;
    let h = match v {
        ScalarValue::Utf8(Some(s)) => flink_murmur(s.as_bytes()),
        ScalarValue::Int8(Some(x)) => *x as i32 as u32,
        ScalarValue::Int16(Some(x)) => *x as i32 as u32,
        ScalarValue::Int32(Some(x)) | ScalarValue::Date32(Some(x)) => *x as u32,
        ScalarValue::Int64(Some(x)) => long(*x),
        // `Double.doubleToLongBits` / `Float.floatToIntBits`: one NaN.
        ScalarValue::Float64(Some(x)) => long(if x.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            x.to_bits() as i64
        }),
        ScalarValue::Float32(Some(x)) => {
            if x.is_nan() {
                0x7fc0_0000
            } else {
                x.to_bits()
            }
        }
        ScalarValue::Boolean(Some(b)) => {
            if *b {
                1231
            } else {
                1237
            }
        }
        other => return exec_err!("COLLECT over {}: unsupported", other.data_type()),
    };
    Ok(h ^ (h >> 16))
}

/// Flink's `COLLECT` result from the collected elements: per row a `MAP<T, INT>` of each
/// non-NULL element's count (empty, not NULL, when there is none), in the iteration order of
/// the `HashMap` (default capacity) Flink's accumulator fills: by bucket of
/// [`java_key_hash`], then by first insertion (JDK 8+ `HashMap`, without treeified buckets).
fn multiset(a: &ArrayRef, n: usize) -> Result<ArrayRef> {
    let list = a.as_list::<i32>();
    let items = list.values();
    let mut counts: Vec<i32> = Vec::new();
    let mut rows = Vec::with_capacity(n);
    for r in 0..n {
        let mut distinct: Vec<(ScalarValue, usize)> = Vec::new();
        let mut at: std::collections::HashMap<ScalarValue, usize> = Default::default();
        let mut count: Vec<i32> = Vec::new();
        if !list.is_null(r) {
            let offsets = list.value_offsets();
            for e in offsets[r] as usize..offsets[r + 1] as usize {
                if items.is_null(e) {
                    continue;
                }
                let v = ScalarValue::try_from_array(items, e)?;
                match at.get(&v) {
                    Some(&i) => count[i] += 1,
                    None => {
                        at.insert(v.clone(), distinct.len());
                        distinct.push((v, e));
                        count.push(1);
                    }
                }
            }
        }
        let mut cap = 16usize;
        let mut threshold = 12usize;
        for size in 1..=distinct.len() {
            if size > threshold {
                cap *= 2;
                threshold *= 2;
            }
        }
        let mask = (cap - 1) as u32;
        let hashes = distinct
            .iter()
            .map(|(v, _)| java_key_hash(v))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..distinct.len()).collect();
        order.sort_by_key(|&i| (hashes[i] & mask, i));
        let mut entries = Vec::with_capacity(order.len());
        for i in order {
            entries.push((0, distinct[i].1, 0, counts.len()));
            counts.push(count[i]);
        }
        rows.push(Some(entries));
    }
    let counts: ArrayRef = Arc::new(datafusion::arrow::array::Int32Array::from(counts));
    let keys: ArrayRef = if items.is_empty() {
        new_null_array(items.data_type(), 0)
    } else {
        items.clone()
    };
    build_map(&[keys.as_ref()], &[counts.as_ref()], &rows)
}

/// Java's `String.hashCode` spread as `HashMap` spreads it.
fn java_hash(s: &str) -> u32 {
    let h = s
        .encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
    h ^ (h >> 16)
}

/// The keys of a `new HashMap<>(expected)` after putting `keys` in order, in its iteration
/// order: by bucket of the final table, then by first insertion (JDK 8+ `HashMap`).
fn hash_map_order(keys: &[String], expected: usize) -> Vec<usize> {
    let mut cap = expected.max(1).next_power_of_two();
    let mut threshold = (cap as f64 * 0.75) as usize;
    let mut size = 0;
    let mut first: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        if !seen.insert(k.as_str()) {
            continue;
        }
        first.push(i);
        size += 1;
        if size > threshold {
            let old = cap;
            cap *= 2;
            threshold = if old >= 16 {
                threshold * 2
            } else {
                (cap as f64 * 0.75) as usize
            };
        }
    }
    let mask = (cap - 1) as u32;
    first.sort_by_key(|&i| (java_hash(&keys[i]) & mask, i));
    first
}

fn str_to_map(arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let s = arrays[0].as_string::<i32>();
    let delim = |i: usize, r: usize, default: &str| -> Option<String> {
        match arrays.get(i) {
            None => Some(default.to_string()),
            Some(a) => {
                let a = a.as_string::<i32>();
                (!a.is_null(r)).then(|| a.value(r).to_string())
            }
        }
    };
    let mut cache: Vec<(String, regex::Regex)> = Vec::new();
    let mut compile = |p: &str| -> Result<regex::Regex> {
        if let Some((_, re)) = cache.iter().find(|(q, _)| q == p) {
            return Ok(re.clone());
        }
        match regex::Regex::new(p) {
            Ok(re) => {
                cache.push((p.to_string(), re.clone()));
                Ok(re)
            }
            Err(e) => exec_err!("STR_TO_MAP: delimiter '{p}' is not supported: {e}"),
        }
    };
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut b = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    for r in 0..n {
        let (Some(list), Some(kv)) = (delim(1, r, ","), delim(2, r, "=")) else {
            b.append(false)?;
            continue;
        };
        if s.is_null(r) {
            b.append(false)?;
            continue;
        }
        let text = s.value(r);
        if text.is_empty() {
            b.append(true)?;
            continue;
        }
        let (list_re, kv_re) = (compile(&list)?, compile(&kv)?);
        let pairs = java_split(text, &list_re, 0);
        let mut keys = Vec::with_capacity(pairs.len());
        let mut values: Vec<Option<&str>> = Vec::with_capacity(pairs.len());
        for p in &pairs {
            let kv = java_split(p, &kv_re, 2);
            if kv.len() < 2 {
                keys.push(p.to_string());
                values.push(None);
            } else {
                keys.push(kv[0].to_string());
                values.push(Some(kv[1]));
            }
        }
        // The last value put for a key wins.
        let last: std::collections::HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(j, k)| (k.as_str(), j))
            .collect();
        for i in hash_map_order(&keys, pairs.len()) {
            b.keys().append_value(&keys[i]);
            b.values().append_option(values[last[keys[i].as_str()]]);
        }
        b.append(true)?;
    }
    Ok(Arc::new(b.finish()))
}

fn map_union(arrays: &[ArrayRef], out_type: &DataType, n: usize) -> Result<ArrayRef> {
    if arrays.iter().any(|a| a.data_type().is_null()) {
        return Ok(new_null_array(out_type, n));
    }
    let maps: Vec<&MapArray> = arrays.iter().map(|a| a.as_map()).collect();
    let mut rows = Vec::with_capacity(n);
    for r in 0..n {
        if maps.iter().any(|m| m.is_null(r)) {
            rows.push(None);
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        let mut entries = Vec::new();
        for (src, m) in maps.iter().enumerate().rev() {
            let (lo, hi) = (
                m.value_offsets()[r] as usize,
                m.value_offsets()[r + 1] as usize,
            );
            for e in lo..hi {
                if seen.insert(ScalarValue::try_from_array(m.keys(), e)?) {
                    entries.push((src, e, src, e));
                }
            }
        }
        rows.push(Some(entries));
    }
    let keys: Vec<&dyn Array> = maps.iter().map(|m| m.keys().as_ref()).collect();
    let values: Vec<&dyn Array> = maps.iter().map(|m| m.values().as_ref()).collect();
    build_map(&keys, &values, &rows)
}

fn element(a: &ArrayRef, n: usize) -> Result<ArrayRef> {
    let list = a.as_list::<i32>();
    let mut idx = Vec::with_capacity(n);
    for r in 0..n {
        let len = if list.is_null(r) {
            0
        } else {
            list.value_length(r)
        };
        match len {
            0 => idx.push(None),
            1 => idx.push(Some(list.value_offsets()[r] as i64)),
            _ => return exec_err!("Array has more than one element."),
        }
    }
    let idx = Int64Array::from(idx);
    Ok(datafusion::arrow::compute::take(
        list.values().as_ref(),
        &idx,
        None,
    )?)
}

fn regexp_extract_all(arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let s = arrays[0].as_string::<i32>();
    let re = arrays[1].as_string::<i32>();
    let group = arrays
        .get(2)
        .map(|g| cast(g, &DataType::Int64))
        .transpose()?;
    let group = group
        .as_ref()
        .map(|g| g.as_primitive::<datafusion::arrow::datatypes::Int64Type>());
    let mut cache: Option<(String, regex::Regex)> = None;
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in 0..n {
        if s.is_null(r) || re.is_null(r) || group.is_some_and(|g| g.is_null(r)) {
            b.append_null();
            continue;
        }
        let pattern = re.value(r);
        if cache.as_ref().is_none_or(|(p, _)| p != pattern) {
            match regex::Regex::new(pattern) {
                Ok(c) => cache = Some((pattern.to_string(), c)),
                Err(e) => {
                    return exec_err!(
                        "REGEXP_EXTRACT_ALL: pattern '{pattern}' is not supported: {e}"
                    )
                }
            }
        }
        let (_, compiled) = cache.as_ref().expect("compiled above");
        let idx = group.map_or(1, |g| g.value(r));
        let Some(idx) = usize::try_from(idx)
            .ok()
            .filter(|i| *i < compiled.captures_len())
        else {
            b.append_null();
            continue;
        };
        for caps in compiled.captures_iter(s.value(r)) {
            b.values().append_option(caps.get(idx).map(|m| m.as_str()));
        }
        b.append(true);
    }
    let out: GenericListArray<i32> = b.finish();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_java() {
        let comma = regex::Regex::new(",").unwrap();
        assert_eq!(
            java_split("a=1,a=2,,=3", &comma, 0),
            vec!["a=1", "a=2", "", "=3"]
        );
        assert_eq!(java_split("a,b,,", &comma, 0), vec!["a", "b"]);
        let eq = regex::Regex::new("=").unwrap();
        assert_eq!(java_split("=3", &eq, 2), vec!["", "3"]);
        assert_eq!(java_split("c", &eq, 2), vec!["c"]);
        let any = regex::Regex::new("|").unwrap();
        assert_eq!(java_split("ab", &any, 0), vec!["a", "b"]);
        let dot = regex::Regex::new(".").unwrap();
        assert_eq!(java_split("a", &dot, 2), vec!["", ""]);
    }

    #[test]
    fn hash_map_order_is_javas() {
        let keys: Vec<String> = "k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11 k12 k13 zz aaa"
            .split(' ')
            .map(String::from)
            .collect();
        let order: Vec<&str> = hash_map_order(&keys, keys.len())
            .into_iter()
            .map(|i| keys[i].as_str())
            .collect();
        // Flink 2.3: {zz=1, aaa=2, k1=v1, k2=v2, k3=v3, k4=v4, k5=v5, k11=v11, k6=v6, …}
        assert_eq!(
            order,
            "zz aaa k1 k2 k3 k4 k5 k11 k6 k10 k7 k13 k8 k12 k9"
                .split(' ')
                .collect::<Vec<_>>()
        );
        let keys: Vec<String> = vec!["a".into(), "a".into(), "".into(), "".into()];
        assert_eq!(hash_map_order(&keys, 4), vec![2, 0]);
    }
}

//! Internally tagged enums (`{"type": "draw", ...fields}`) read without buffering when the tag comes
//! first, as the export writes it (SPEC §8).
//!
//! serde's derived `#[serde(tag = "...")]` deserializer copies every object into its private
//! `Content` tree before it looks at the tag, because the tag may come anywhere: for a log entry that
//! is most of the cost of reading it. [`tag_first_enum!`] writes the enum once and derives two private
//! copies of its deserializer (by serde's `remote` attribute, so both build the public enum and no
//! variant is written twice): one externally tagged (`by_name`), fed the object's remaining members
//! straight from the parser once the first member turned out to be the tag, and one internally tagged
//! (`tagged`, serde's own), which reads every other form exactly as before (the tag later in the
//! object, an empty object, the array form). The fields, their types, missing and unknown members
//! are checked by serde's derived code in both cases; a repeated tag is refused as serde refuses it
//! ("duplicate field `type`").
//!
//! What can differ from serde's buffered reading is only which error an invalid object reports when
//! it has several (the first in reading order, where serde reported a syntax error or a repeated tag
//! anywhere in the object first) and the position in the message.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, IntoDeserializer, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};

/// An enum written by [`tag_first_enum!`]: its tag's name and its two derived deserializers.
pub(crate) trait TagFirst<'de>: Sized {
    /// The tag member's name (`type`, `kind`).
    const TAG: &'static str;
    /// What serde's internally tagged deserializer expects, for the same "invalid type" message.
    const EXPECTING: &'static str;
    /// The externally tagged deserializer: `deserialize_enum` of the variant's name and fields.
    fn by_name<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
    /// serde's internally tagged deserializer (buffers the object).
    fn tagged<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Reads a `T` from `d`: straight from the parser if the tag is the object's first member, through
/// serde's buffering deserializer otherwise.
pub(crate) fn deserialize<'de, T: TagFirst<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<T, D::Error> {
    d.deserialize_any(TagFirstVisitor(PhantomData))
}

/// Writes an internally tagged enum (`#[serde(tag = ...)]` and the other container attributes given)
/// with a serialize derived as usual and a deserialize that reads a leading tag without buffering
/// (see the module's documentation). `by_name` and `tagged` name the two private copies of the
/// enum's definition that only carry the derived deserializers.
macro_rules! tag_first_enum {
    (
        tag = $tag:tt, remote = $remote:tt, serde($($attr:tt)*), by_name = $by_name:ident,
        tagged = $tagged:ident;
        $(#[$meta:meta])*
        pub enum $name:ident { $($body:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize)]
        #[serde(tag = $tag, $($attr)*)]
        pub enum $name { $($body)* }

        /// The externally tagged deserializer of the enum of the same variants (never built).
        #[derive(serde::Deserialize)]
        #[serde(remote = $remote, $($attr)*)]
        #[allow(dead_code, clippy::large_enum_variant)]
        enum $by_name { $($body)* }

        /// serde's internally tagged deserializer of the enum of the same variants (never built).
        #[derive(serde::Deserialize)]
        #[serde(remote = $remote, tag = $tag, $($attr)*)]
        #[allow(dead_code, clippy::large_enum_variant)]
        enum $tagged { $($body)* }

        impl<'de> $crate::tag_first::TagFirst<'de> for $name {
            const TAG: &'static str = $tag;
            const EXPECTING: &'static str = concat!("internally tagged enum ", $remote);
            fn by_name<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $by_name::deserialize(d)
            }
            fn tagged<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $tagged::deserialize(d)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::tag_first::deserialize(d)
            }
        }
    };
}

struct TagFirstVisitor<T>(PhantomData<T>);

impl<'de, T: TagFirst<'de>> Visitor<'de> for TagFirstVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::tagged(SeqAccessDeserializer::new(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let first = map.next_key_seed(KeySeed)?;
        match first {
            Some(k) if k == T::TAG => T::by_name(TagThenFields {
                map,
                tag: T::TAG,
                _d: PhantomData,
            }),
            first => T::tagged(MapAccessDeserializer::new(Replay { first, map })),
        }
    }
}

/// A map key, borrowed from the input when it can be.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Hands a key read by [`KeySeed`] to `seed`.
fn key_into<'de, K: DeserializeSeed<'de>, E: de::Error>(
    seed: K,
    key: Cow<'de, str>,
) -> Result<K::Value, E> {
    match key {
        Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
        Cow::Owned(s) => seed.deserialize(s.into_deserializer()),
    }
}

/// The map again, with its first key (already read) put back in front.
struct Replay<'de, A> {
    first: Option<Cow<'de, str>>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'de, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(k) => key_into(seed, k).map(Some),
            None => self.map.next_key_seed(seed),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A map whose first key was the tag: as a deserializer, an enum whose variant is the tag's value
/// and whose fields are the map's other members.
struct TagThenFields<'de, A> {
    map: A,
    tag: &'static str,
    _d: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for TagThenFields<'de, A> {
    type Error = A::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for TagThenFields<'de, A> {
    type Error = A::Error;
    type Variant = Fields<A>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        mut self,
        seed: V,
    ) -> Result<(V::Value, Fields<A>), A::Error> {
        // The tag's value, read by the derived variant identifier: an unknown type is refused with
        // serde's own message.
        let variant = self.map.next_value_seed(seed)?;
        Ok((
            variant,
            Fields {
                map: self.map,
                tag: self.tag,
            },
        ))
    }
}

/// The members after the tag; a repeated tag is refused.
struct Fields<A> {
    map: A,
    tag: &'static str,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Fields<A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.map.next_key_seed(KeySeed)? {
            None => Ok(None),
            Some(k) if k == self.tag => Err(de::Error::duplicate_field(self.tag)),
            Some(k) => key_into(seed, k).map(Some),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Fields<A> {
    type Error = A::Error;
    fn unit_variant(mut self) -> Result<(), A::Error> {
        // As serde's internally tagged unit variant: other members are read and ignored.
        while self.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        seed.deserialize(MapAccessDeserializer::new(self))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
}

use super::*;

#[test]
fn partition_values_are_escaped_like_hive() {
    assert_eq!(escape_partition_value("2024-01-01"), "2024-01-01");
    assert_eq!(escape_partition_value("a/b=c"), "a%2Fb%3Dc");
    assert_eq!(escape_partition_value("50%"), "50%25");
}

#[test]
fn local_paths() {
    assert_eq!(local_path("file:///tmp/x"), Some(PathBuf::from("/tmp/x")));
    assert_eq!(local_path("/tmp/x"), Some(PathBuf::from("/tmp/x")));
    assert_eq!(local_path("s3://bucket/x"), None);
}

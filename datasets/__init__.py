"""Raw medical image layouts -> TFRecords + dataset_info.json, and reading them back."""

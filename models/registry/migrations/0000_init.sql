CREATE TABLE `model_aliases` (
	`usecase` text NOT NULL,
	`alias` text NOT NULL,
	`version` integer NOT NULL,
	`set_at_ms` integer NOT NULL,
	PRIMARY KEY(`usecase`, `alias`),
	FOREIGN KEY (`usecase`,`version`) REFERENCES `model_versions`(`usecase`,`version`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "model_aliases_alias" CHECK("model_aliases"."alias" IN ('champion', 'challenger'))
);
--> statement-breakpoint
CREATE TABLE `model_versions` (
	`usecase` text NOT NULL,
	`version` integer NOT NULL,
	`created_at_ms` integer NOT NULL,
	`kind` text NOT NULL,
	`onnx` blob NOT NULL,
	`onnx_sha256` text NOT NULL,
	`onnx_bytes` integer NOT NULL,
	`feature_schema` text NOT NULL,
	`params` text NOT NULL,
	`metrics` text NOT NULL,
	`data_from_ms` integer NOT NULL,
	`data_to_ms` integer NOT NULL,
	`data_offsets` text NOT NULL,
	`data_source` text NOT NULL,
	`threshold` real NOT NULL,
	`costs` text NOT NULL,
	`description` text NOT NULL,
	PRIMARY KEY(`usecase`, `version`),
	CONSTRAINT "model_versions_kind" CHECK("model_versions"."kind" IN ('gbt', 'logistic')),
	CONSTRAINT "model_versions_version" CHECK("model_versions"."version" >= 1)
);

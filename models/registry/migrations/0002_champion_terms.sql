CREATE TABLE `champion_terms` (
	`usecase` text NOT NULL,
	`version` integer NOT NULL,
	`from_ms` integer NOT NULL,
	PRIMARY KEY(`usecase`, `from_ms`, `version`),
	FOREIGN KEY (`usecase`,`version`) REFERENCES `model_versions`(`usecase`,`version`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
-- A registry made before this table: its current champion's term starts when the alias moved.
INSERT INTO `champion_terms` (`usecase`, `version`, `from_ms`)
SELECT `usecase`, `version`, `set_at_ms` FROM `model_aliases` WHERE `alias` = 'champion';

#!/usr/bin/env bash
# Provision Apache Kafka (broker jars, every runtime dependency and an slf4j binding) into the
# cache dir, outside the repo. Maven resolves the transitive closure from Maven Central, so a fresh
# machine needs only java and mvn. A marker file makes the second run a no-op.
set -euo pipefail
# shellcheck source=scripts/kafka/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v java >/dev/null 2>&1 || die "java not found; install a JDK 17+ (apt-get install openjdk-17-jdk-headless)"
command -v mvn >/dev/null 2>&1 || die "mvn not found; install Maven 3.8+ (apt-get install maven)"

if [[ -f "$KAFKA_MARKER" && -d "$KAFKA_LIBS" ]]; then
  exit 0
fi

say "provisioning Kafka $KAFKA_VERSION into $KAFKA_HOME (first run only)"
mkdir -p "$KAFKA_HOME"
resolve_dir="$KAFKA_HOME/resolve"
staging="$KAFKA_HOME/libs.staging"
rm -rf "$resolve_dir" "$staging"
mkdir -p "$resolve_dir"

# A throwaway pom: its only job is to name the broker and the log binding so Maven resolves the
# runtime closure. logback comes in through zookeeper; it would be a second slf4j binding.
cat >"$resolve_dir/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.coelho-realtime</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>slf4j-log4j12</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>$RELOAD4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>$MAVEN_DEPENDENCY_PLUGIN_VERSION</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
POM

if ! mvn -q -B -f "$resolve_dir/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$staging" >"$resolve_dir/mvn.log" 2>&1; then
  tail -n 20 "$resolve_dir/mvn.log" >&2
  die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (full log: $resolve_dir/mvn.log)"
fi

# Sanity: the broker's main class and exactly one slf4j binding must be there.
compgen -G "$staging/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
  || die "resolved libs lack kafka_2.13-$KAFKA_VERSION.jar; see $resolve_dir/mvn.log"
compgen -G "$staging/slf4j-reload4j-*.jar" >/dev/null \
  || die "resolved libs lack slf4j-reload4j; see $resolve_dir/mvn.log"

# Swap in whole, then mark: an interrupted run leaves no marker and is simply redone.
rm -rf "$KAFKA_LIBS"
mv "$staging" "$KAFKA_LIBS"
ls "$KAFKA_LIBS" >"$KAFKA_MARKER"
say "provisioned $(wc -l <"$KAFKA_MARKER") jars into $KAFKA_LIBS"

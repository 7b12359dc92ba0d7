// -rewrite-rules, -blacklist, -whitelist, -tag-normalize, -rule-cache-names: read once at start; a
// file that does not parse stops the program with its line (exit 2), as a bad flag does.
import { readRuleFiles, type LoadedRules, type RuleFilePaths } from '../rules/rule-files.js';
import { RuleFileError } from '../rules/rule-text.js';
import type { RULE_FLAGS } from './programs.js';
import { ConfigError, type FlagReader, type FlagsOf } from './validate.js';

export interface RulesConfig {
  readonly paths: RuleFilePaths;
  readonly initial: LoadedRules;
  readonly cacheNames: number;
}

export function readRulesConfig(f: FlagReader<FlagsOf<typeof RULE_FLAGS>>): RulesConfig {
  const paths: RuleFilePaths = {
    rewriteRules: f.string('rewrite-rules'),
    blacklist: f.string('blacklist'),
    whitelist: f.string('whitelist'),
    tagNormalize: f.bool('tag-normalize'),
  };
  try {
    return { paths, initial: readRuleFiles(paths), cacheNames: f.int('rule-cache-names') };
  } catch (err) {
    if (err instanceof RuleFileError) throw new ConfigError(err.message);
    throw err;
  }
}

// Package acl decides every access of imqtt: each PUBLISH, each SUBSCRIBE
// filter, each delivery to a subscriber (retained messages included) and,
// through CanWriteWill, each will topic. It is deny by default and reads
// mosquitto-style rules. Hook is the engine's ext.Authorizer, the only one
// (hooks/doc.go).
//
// # Contract
//
// The broker calls New(cfg, log, obs) once, gives the hook to the engine
// (engine.Options.ACL) and passes h.CanWriteWill to hooks/auth, which calls
// it for the will topic before the CONNACK. Reload (on SIGHUP) re-reads the
// rules; a broken file keeps the previous rules in force and returns the
// error naming the file and line. It owns no goroutine. The identity checked
// is ext.Client.Username, the identity hooks/auth returned ("" for anonymous
// clients).
//
// # Configuration
//
//	acl:
//	  file: ""                 # mosquitto-style rules file; "" = none
//	  rules: []                # inline rule lines, parsed after the file
//	  sys_read: rules          # who reads $SYS: anyone | rules | none
//	  subscribe_deny: overlap  # a deny refuses the filters it overlaps | cover
//
// DefaultConfig is deny-all. Validate checks sys_read, subscribe_deny and the
// inline rules; New also reads and checks the file.
//
// # Rules language
//
// A rules file (Config.File) and the inline rules (Config.Rules, one line per
// element, parsed after the file as a separate source) hold lines of the form:
//
//	# comment                       (a line whose first non-blank character is '#')
//	topic [ACCESS] TOPIC            before any `user` line: anonymous clients only
//	user USERNAME                   the `topic` lines that follow apply to USERNAME
//	pattern [ACCESS] PATTERN        every client, anonymous included; %u and %c substituted
//
// Keywords and access words are lower case. Blank lines are ignored, leading and
// trailing blanks are trimmed, a UTF-8 byte order mark and CR line ends are
// accepted. There are no trailing comments: '#' is a topic wildcard. USERNAME,
// TOPIC and PATTERN are the rest of the line and may contain inner spaces.
// A `user` section ends at the next `user` line; several sections for the
// same user add up. `pattern` lines apply to every client wherever they stand.
// A user's own `topic` lines and the patterns apply to that user; the
// anonymous section does not. The inline rules start in the anonymous section
// again, and their `user` elements apply to the elements that follow.
//
// ACCESS is one of:
//
//	read       subscribe and receive (mosquitto semantics)
//	write      publish
//	readwrite  subscribe, receive and publish; the default when ACCESS is omitted
//	subscribe  subscribe only: the subscription is accepted, but a message is
//	           delivered only if a read rule also grants its topic
//	deny       explicit deny of everything above; wins over any allow for the
//	           topics it matches
//
// TOPIC and PATTERN are MQTT topic filters: '+' and '#' only as whole levels,
// '#' only last, empty levels allowed, no NUL, valid UTF-8, and not starting
// with "$share" (write the inner filter: the rules for F decide
// "$share/{group}/F"). In `pattern` lines, %u inside a level stands for the
// username and %c for the client id; any other '%' is literal. In `topic` lines
// %u and %c are literal text.
//
// A line that breaks these rules (unknown keyword, unknown access word, invalid
// filter such as "a/#/b", "a+" or "#x", `user` without a name, a missing topic)
// is an error that matches ErrParse and names the file and line
// ("acl.conf:12: ...") or the inline element ("rules[3]: ...").
//
// # Decisions
//
// Built-in policies come first and are final; no rule overrides them:
//
//  1. $SYS is read-only: publishing (or a will) to a topic whose first level is
//     $SYS, in any letter case, is always denied.
//  2. sys_read none: every $SYS subscription and delivery is denied.
//  3. Policies added with WithPolicies, in order (the place of the IM namespace
//     policy for the im/ tree).
//
// Then the rules, with T a topic name and F a topic filter:
//
//   - publish to T (write) or delivery of T (read): allowed iff T is a valid
//     topic name (non-empty, no '+', '#' or NUL), some applicable rule with that
//     access matches T under MQTT matching ('+' one level, '#' the rest
//     including the parent level, and '+' or '#' as the first level never
//     matching a T that starts with '$' [MQTT-4.7.2-1]), and no applicable deny
//     rule matches T. With sys_read anyone, the delivery of a $SYS topic is
//     granted without a rule (deny rules still apply).
//   - subscribe to F: allowed iff F is a valid filter, F is covered by a single
//     applicable rule P with the subscribe bit (every topic F can match, P
//     matches: literal levels equal, '+' in F needs '+' or '#' in P, '#' in F
//     needs '#' in P), and no applicable deny rule overlaps F (some topic could
//     match both). So `topic read a/+` allows subscribing to "a/b" and "a/+" but
//     not "a/#" or "#"; and `topic deny a/secret/#` refuses "a/#" and "a/+"
//     (both could receive "a/secret"). With subscribe_deny cover (mosquitto's
//     behaviour) a deny rule refuses F only if it covers F: "a/#" is accepted
//     and "a/secret/..." is filtered out at delivery. With sys_read anyone, a
//     filter whose first level is $SYS is granted without a rule (deny rules
//     still apply).
//   - "$share/{group}/F" (case-sensitive prefix): judged as F. A malformed share
//     ("$share/g", "$share//F", a wildcard in the group, empty F) is denied.
//   - "$SHARE/g/F" and every other letter case of $share is not a shared
//     subscription in MQTT: it is judged as the literal filter it is, which
//     only matches topics starting with "$SHARE/" (so `topic read secret/#`
//     does not grant it). F must be allowed too, and a form that reads as a
//     malformed share in any letter case is denied: mochi v2.7.9, which imqtt
//     ran on until issue 17, took it for a shared subscription to F, and the
//     check still fails closed for it.
//   - Everything else is denied.
//
// # Placeholders
//
// %u and %c are substituted inside one level: the substituted level must equal
// one level of the topic. A value can be substituted only if it is non-empty
// and has no '+', '#', '/' or NUL, and, where the placeholder starts the first
// level, does not start with '$' (a client id "$SYS" must not turn
// `pattern read %c/#` into a $SYS grant). Otherwise:
//
//   - an empty value (an anonymous client for %u) makes the rule not apply;
//   - an allow rule with an unusable value grants nothing (mosquitto does the
//     same for '+' and '#');
//   - a deny rule with an unusable value fails closed: it denies every topic
//     whose levels before the first placeholder level match, whatever follows
//     (a placeholder in the first level: everything).
//
// Why '/' is excluded: with textual substitution a user "a/b" would own
// "users/a/b/#", which lies inside user "a"'s "users/a/#"; no rule order can
// keep the two apart. Since a topic level never contains '/', a '/' in a value
// simply never matches: user "a/b" gets nothing from `pattern ... users/%u/#`
// and no user's tree holds another user's. Keep one placeholder per level if
// users must be kept apart: "%u%c" can give two clients the same level.
//
// # Subscriptions versus deliveries
//
// The engine says which access it asks about (ext.AccessPublish,
// AccessSubscribe, AccessDeliver), so a literal SUBSCRIBE filter and a
// delivery on the same string are told apart without guessing.
//
// # Limits
//
//   - A will is checked when the client connects (CanWriteWill); the engine
//     publishes it later without another check.
//   - A subscription is judged when it is made; deliveries on it are judged
//     again one by one with the rules in force at that moment.
//
// Every denial is logged at debug with client_id, user, topic, access and
// reason, and counted through Observer.ACLDenied. Payloads are never seen.
package acl

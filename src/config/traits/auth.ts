/** Authenticator traits (config.md §5). */
import type { ClassDef } from '../types.js';
import { any, bool, callable, command, deprecated, dict, int, set, unicode } from './helpers.js';

export const Authenticator: ClassDef = {
  name: 'Authenticator',
  help: 'Settings common to every authenticator (the component that decides who may log in).',
  aliases: ['jupyterhub.auth.Authenticator'],
  traits: [
    set('admin_users', [], 'Users who get admin rights (created at startup). Being listed here does not by itself allow login.', { items: 'Unicode' }),
    set('allowed_users', [], 'Users allowed to log in (created at startup).', { items: 'Unicode' }),
    bool('allow_all', false, 'Let in everybody who authenticates successfully.'),
    bool('allow_existing_users', false, 'Let in users that already exist in the database.', {
      dynamicDefault: (ctx) => {
        const allowed = ctx.get(ctx.cls, 'allowed_users');
        return Array.isArray(allowed) && allowed.length > 0;
      },
      defaultText: 'True if allowed_users is not empty',
    }),
    set('blocked_users', [], 'Users who may never log in.', { items: 'Unicode' }),
    bool('any_allow_config', false, 'Declare that some allow rule exists (silences the "nobody can log in" warning).', {
      dynamicDefault: (ctx) => {
        for (const t of ['allow_all', 'allowed_users', 'allow_existing_users']) {
          const v = ctx.get(ctx.cls, t);
          if (v === true || (Array.isArray(v) && v.length > 0)) return true;
        }
        return false;
      },
      defaultText: 'True if allow_all, allowed_users or allow_existing_users is set',
    }),
    unicode('username_pattern', '', 'Regular expression every (normalized) user name must match; empty: no check.'),
    dict('username_map', {}, 'Renames authenticated users (applied after lower-casing) and also the entries of allowed_users and admin_users.', { items: 'Unicode' }),
    callable('normalize_username', 'jhub extension: function (name) returning the normalized user name, replacing lower-casing + username_map (the way to express a Python override of normalize_username).'),
    bool('delete_invalid_users', false, 'Remove users from the database at startup when they no longer pass validation.'),
    bool('auto_login', false, "Skip the login page and go straight to the authenticator's login URL."),
    bool('auto_login_oauth2_authorize', false, 'Like auto_login, for OAuth authorization requests.'),
    bool('enable_auth_state', false, 'Store each user\'s auth_state encrypted in the database (needs JUPYTERHUB_CRYPT_KEY).'),
    int('auth_refresh_age', 300, 'Seconds after which the user\'s authentication info is refreshed again.'),
    bool('refresh_pre_spawn', false, "Refresh the user's authentication info before starting a server."),
    bool('refresh_pre_stop', false, "Refresh the user's authentication info before stopping a server."),
    callable('post_auth_hook', 'Function (authenticator, handler, authentication) returning the possibly changed authentication model.'),
    bool('manage_groups', false, "Take users' group memberships from the authenticator."),
    bool('manage_roles', false, "Take users' roles from the authenticator."),
    bool('reset_managed_roles_on_startup', false, 'At startup, remove managed roles and managed role assignments that load_managed_roles() no longer gives.'),
    callable('authenticate', "jhub extension: function (handler, data) returning the user name, an auth model ({name, admin?, groups?, roles?, auth_state?}) or null, called with the authenticator as `this`, replacing the class's own check (the way to express a Python override of authenticate)."),
    callable('load_managed_roles', 'jhub extension: function () returning the role definitions (load_roles format) the authenticator manages, loaded at every startup when manage_roles is set (the way to express a Python override of load_managed_roles).'),
    bool('request_otp', false, 'Add a one-time-password field to the login form.'),
    any('otp_prompt', 'OTP:', 'Label of the one-time-password field.'),
    set('whitelist', [], 'Old name of allowed_users.', { items: 'Unicode', ...deprecated('1.2', 'Authenticator.allowed_users') }),
    set('blacklist', [], 'Old name of blocked_users.', { items: 'Unicode', ...deprecated('1.2', 'Authenticator.blocked_users') }),
  ],
};

export const LocalAuthenticator: ClassDef = {
  name: 'LocalAuthenticator',
  parent: 'Authenticator',
  help: 'Authenticator tied to system accounts: can create them and allow system groups.',
  aliases: ['jupyterhub.auth.LocalAuthenticator'],
  traits: [
    bool('create_system_users', false, 'Create a system account (with add_user_cmd) for users that do not have one.'),
    command('add_user_cmd', ['adduser', '-q', '--gecos', '""', '--disabled-password'], "Command creating a system account; 'USERNAME' inside an argument is replaced, then the name (after --uid N when uids has it) is appended.", {
      dynamicDefault: () =>
        /bsd/i.test(process.platform) ? ['pw', 'useradd', '-m', '-n'] : ['adduser', '-q', '--gecos', '""', '--disabled-password'],
      defaultText: "['adduser', '-q', '--gecos', '\"\"', '--disabled-password'] (BSD: ['pw', 'useradd', '-m', '-n'])",
    }),
    set('allowed_groups', [], 'Members of these system groups may log in.', { items: 'Unicode' }),
    dict('uids', {}, 'Fixed uids for created accounts (name -> uid).', { items: 'Int' }),
    set('group_whitelist', [], 'Old name of allowed_groups.', { items: 'Unicode', ...deprecated('1.2', 'LocalAuthenticator.allowed_groups') }),
  ],
};

export const PAMAuthenticator: ClassDef = {
  name: 'PAMAuthenticator',
  parent: 'LocalAuthenticator',
  help: 'Checks user name and password with PAM (the default authenticator).',
  aliases: ['default', 'pam', 'jupyterhub.auth.PAMAuthenticator'],
  traits: [
    unicode('service', 'login', 'PAM service name used for authentication.'),
    unicode('encoding', 'utf8', 'Text encoding used to talk to PAM.'),
    bool('open_sessions', false, 'Open a PAM session when a server starts and close it when it stops.'),
    bool('check_account', true, 'Also run the PAM account check (expired or locked accounts fail).'),
    set('admin_groups', [], 'Members of these system groups are admins (this does not allow login by itself).', { items: 'Unicode' }),
    bool('pam_normalize_username', false, 'Normalize names by a round trip through the system user database.'),
    int('executor_threads', 4, 'Threads for blocking PAM calls.', { min: 1 }),
  ],
};

export const DummyAuthenticator: ClassDef = {
  name: 'DummyAuthenticator',
  parent: 'Authenticator',
  help: 'For testing: any user name is accepted, optionally with one shared password.',
  aliases: ['dummy', 'jupyterhub.auth.DummyAuthenticator'],
  traits: [
    unicode('password', '', 'If set, the password every user must give.', deprecated('5.3', undefined, 'use SharedPasswordAuthenticator')),
    bool('allow_all', true, 'Let in everybody who authenticates successfully (default: True unless allowed_users is set).', {
      dynamicDefault: (ctx) => {
        const allowed = ctx.get(ctx.cls, 'allowed_users');
        return !(Array.isArray(allowed) && allowed.length > 0);
      },
      defaultText: 'True unless allowed_users is set',
    }),
  ],
};

export const SharedPasswordAuthenticator: ClassDef = {
  name: 'SharedPasswordAuthenticator',
  parent: 'Authenticator',
  help: 'Everybody logs in with one shared password; admins with a separate one.',
  aliases: ['shared-password', 'jupyterhub.authenticators.shared.SharedPasswordAuthenticator'],
  traits: [
    unicode('user_password', null, 'Password for non-admin users (at least 8 characters).', { allowNone: true }),
    unicode('admin_password', null, 'Password for users in admin_users (at least 32 characters, different from user_password).', { allowNone: true }),
    dict('password_groups', {}, 'Extra passwords, each mapping to a list of groups its users join (needs manage_groups).'),
  ],
};

export const NullAuthenticator: ClassDef = {
  name: 'NullAuthenticator',
  parent: 'Authenticator',
  help: 'No login at all: for deployments used only with API tokens.',
  aliases: ['null', 'jupyterhub.auth.NullAuthenticator'],
  traits: [],
};

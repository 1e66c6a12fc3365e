# ruff: noqa: E501
"""Source of the staff console's catalogs (judging/locale/*/LC_MESSAGES/staff.po); run it to regenerate them.

msgid (English) -> (Chinese, English display text or "" to show the msgid itself).
"""

from __future__ import annotations

from pathlib import Path

ZH: dict[str, str] = {
    "Connectivity of venues": "分会场连通性",
    "All venues are linked by shared judges or anchor entries: severity corrections compare every venue.":
        "所有分会场都通过共同评委或锚定成果相连：宽严校正可在各分会场之间比较。",
    "The venues form {n} separate groups: scores are compared across groups only by assumption (random assignment, "
    "or the initial review as a yardstick).":
        "分会场分成 {n} 个互不相连的组：组间比较只能依靠假设（随机分配，或以初审成绩为标尺）。",
    "Suggested rotations (a judge also sits in another venue for a few presentations):":
        "建议轮换（一位评委到另一分会场加评几个成果）：",
    "{judge} ({src}) also judges a few presentations in {dst}": "{judge}（{src}）到{dst}加评几个成果",
    "Or score one recorded presentation (an anchor) in every venue.": "或让每个分会场都评同一个录像成果（锚定成果）。",
    "Groups:": "分组：",
    # the public leaderboard's link and QR code (templates/staff/contest.html)
    "Public leaderboard": "公开排行榜",
    "Released results only; anyone can open it without logging in. Every venue's big screen shows this QR code in "
    "its corner; print it or project it so the audience can follow the rankings on their phones.":
        "只显示已发布的成绩，无需登录即可打开。各分会场大屏的角落都显示这个二维码；也可以打印或投屏，方便观众用手机查看实时排名。",
    # the owner invites staff (templates/staff/home.html, invite_issued.html; judging/routes/staff.py)
    "Invite a staff member": "邀请工作人员",
    "Creates a staff account and a one-time setup link, shown once, with which the new staff member chooses their "
    "own user name and password. Staff can use every contest page; finalizing grades and inviting staff are for the "
    "owner only.":
        "创建一个工作人员账号和一次性设置链接（只显示一次），新同事用它自行设置用户名和密码。工作人员可以使用全部赛事页面；"
        "成绩定稿和邀请工作人员只有管理员可以操作。",
    "Create the invitation": "生成邀请链接",
    "Give the new staff member's name (at most 100 characters).": "请填写新工作人员的姓名（不超过 100 个字）。",
    "Invitation for {name}": "已邀请{name}",
    "Give {name} this setup link, or let them scan the QR code: with it they choose their own user name and password "
    "and then log in to the staff pages.":
        "请把这个设置链接交给{name}，或让其扫描二维码：用它设置自己的用户名和密码，然后登录工作人员页面。",
    "The link is shown only this once": "此链接只显示这一次",
    "Podium does not keep it. Copy, print or scan it now. It works once, within {days} days; if it is lost, make a "
    "new one on the staff accounts page.":
        "系统不保存该链接，请现在复制、打印或扫码。链接只能使用一次，{days} 天内有效；如果遗失，请在“工作人员账号”页面重新生成。",
    # the owner's staff accounts page (templates/staff/accounts.html; judging/accounts.py, routes/staff.py)
    "Staff accounts": "工作人员账号",
    "Only the owner sees this page. A new setup link is for a lost invitation or a forgotten password: earlier setup "
    "links stop working, the current password keeps working until the new link is used, and then every other "
    "session of that account ends. Disabling an account ends its sessions at once and its password stops working; "
    "enabling it lets the password work again.":
        "此页面只有管理员可见。邀请链接遗失或忘记密码时，可生成新的设置链接：之前的设置链接随即失效；原密码在新链接使用之前仍然有效，"
        "使用后该账号的其他登录会话全部结束。停用账号会立即结束其全部会话，密码也不能再登录；重新启用后原密码恢复有效。",
    "Role": "角色", "State": "状态", "Last login": "最近登录",
    "account:active": "正常", "account:pending": "待设置密码", "account:disabled": "已停用",
    "Setup link open until {when}": "设置链接有效期至 {when}",
    "Enable": "启用", "Disable": "停用", "New setup link": "新的设置链接",
    "Make a new setup link for {name}? Earlier setup links stop working.": "为{name}生成新的设置链接？之前的设置链接将失效。",
    "Disable the account of {name}? Their sessions end at once and their password stops working.":
        "停用{name}的账号？其登录会话将立即结束，密码也不能再登录。",
    "New setup link for {name}": "{name}的新设置链接",
    "There is no account {id}.": "没有编号为 {id} 的账号。",
    "The owner's account is not changed here; on the server, 'podium users setup-link --account {id}' gives the "
    "owner a new setup link.":
        "管理员账号不能在这里修改；请在服务器上运行 'podium users setup-link --account {id}' 为管理员生成新的设置链接。",
    "Account {id} is not a staff account; judges, reviewers, hosts and screens get a new login link on their "
    "contest's people page.":
        "账号 {id} 不是工作人员账号；评委、初审专家、主持人和大屏的登录链接请在所属赛事的“人员与登录链接”页面重新生成。",
    "The account of {name} is disabled; enable it first.": "{name}的账号已停用，请先启用。",
    "Overview": "概览", "Setup": "赛事设置", "Import": "导入", "Assignment": "分配", "Conflicts of interest": "回避",
    "QR login sheets": "二维码登录单", "Monitoring": "现场监控", "Grading": "成绩认定",
    "msg:saved": "已保存。", "msg:assigned": "已分配。", "msg:finalized": "已定稿：成绩名单已盖章。",
    "Venue panels": "分会场评委组", "make chief": "设为评审组长", "remove": "移除", "chief": "组长",
    "Add to panel": "加入评委组", "Entries to venues": "成果分配到分会场",
    "Stratified random assignment deals the entries of each topic type evenly over the venues, avoiding venues "
    "whose panel has a conflicted judge. It is the fair default: venue differences can then be assumed to be "
    "judge effects, not entry quality.":
        "分层随机分配：把每种课题类型的成果平均分到各分会场，并避开有需回避评委的分会场。这是公平的默认做法："
        "这样分会场之间的差异可以归因于评委，而不是成果水平。",
    "Random seed (recorded in the audit log)": "随机种子（记入审计日志）",
    "Assign entries at random, stratified by topic type": "按课题类型分层随机分配成果",
    "Last assignment used seed {seed}.": "上次分配使用的随机种子：{seed}。",
    "Venue": "分会场", "Assign by hand": "手工分配", "Code": "编号", "Title": "成果名称", "Organization": "单位",
    "Topic type": "课题类型", "Running order": "发表顺序", "Save": "保存",
    "a judge of this venue is conflicted": "本分会场有评委需回避",
    "Reviewers to entries (initial review)": "初审专家分配", "Reviewers per entry": "每个成果的专家数",
    "Random seed": "随机种子", "Assign reviewers (balanced, conflicts avoided)": "分配初审专家（均衡、避开回避）",
    "Entries with fewer than 2 reviewers:": "初审专家少于 2 人的成果：", "Reviewer": "初审专家",
    "Detect automatic conflicts": "自动识别回避关系", "Same organization as the entry": "与成果同单位",
    "same recommending unit": "同推荐单位", "Configure on the setup page.": "可在赛事设置中调整。",
    "Add a conflict": "添加回避", "Judge or reviewer": "评委或专家", "or a whole organization": "或整个单位",
    "Add": "添加", "Entry or organization": "成果或单位", "Source": "来源", "Remove": "删除",
    "source:auto": "自动", "source:declared": "评委申报", "source:staff": "工作人员添加",
    "No conflicts recorded.": "尚无回避记录。", "Entries without a venue": "未分配分会场的成果",
    "Grading runs": "成绩计算次数", "Steps": "工作步骤",
    "Set up stages, topic types, rubrics, venues and the grade rule": "设置评审阶段、课题类型、评分表、分会场和等级规则",
    "Import entries, judges and initial-review scores from Excel": "从 Excel 导入成果、评委和初审成绩",
    "Assign judges to panels, entries to venues and reviewers to entries": "分配评委组、分会场和初审专家",
    "Print the judges' QR login sheets": "打印评委二维码登录单", "Watch every venue on contest day": "比赛当天监控各分会场",
    "Preview grades, finalize and export": "预览成绩等级、定稿并导出",
    "Compute a preview": "计算预览", "On-site calibration": "发表成绩校正方法", "Initial-review aggregation": "初审成绩汇总方法",
    "method:calibrated": "贝叶斯校正（推荐）", "method:additive": "加性宽严模型", "method:trimmed": "去掉最高最低分取平均",
    "method:mean": "算术平均", "method:median": "中位数", "method:judge_z": "按评委标准化", "method:venue_z": "按分会场标准化",
    "Rule": "规则", "Share of presenters (quota)": "按发表成果比例（名额）", "Score thresholds": "按分数线",
    "Quotas apply within": "名额计算范围", "each topic type": "每种课题类型", "each venue": "每个分会场",
    "the whole contest": "全部成果", "Floor (no grade below)": "最低分（低于此分不授等级）",
    "Drop highest and lowest from N judges": "评委人数达到 N 时去掉最高分和最低分",
    "Simulation draws (grade probabilities)": "模拟次数（等级概率）", "Compute preview": "计算预览",
    "Grade labels, shares, thresholds and the onward recommendation come from the grade rule on the setup page.":
        "等级名称、比例、分数线和推荐上报名额取自赛事设置中的等级规则。",
    "Status": "状态", "Computed": "计算时间", "Method": "方法", "Input digest": "输入摘要", "Engine": "引擎",
    "status:preview": "预览", "status:final": "已定稿", "status:outdated": "已过期", "Open": "打开",
    "No grading run yet.": "尚未计算成绩。", "New contest": "新建赛事", "Organizer": "主办单位",
    "Create with the preset rubrics": "用预置评分表创建",
    "Upload the .xlsx or .csv (UTF-8 or GB18030) exported by the declaration system. Title rows, merged cells, "
    "full-width characters and the usual column names are handled. The whole file is checked first; nothing is "
    "written until you confirm.":
        "上传申报系统导出的 .xlsx 或 .csv（UTF-8 或 GB18030）文件。标题行、合并单元格、全角字符和常见列名都能识别。"
        "系统先检查整个文件，确认之前不会写入任何数据。",
    "Stage": "阶段", "Initial review": "初审", "On-site (paper sheets)": "现场发表（纸质评分表）",
    "Check the file": "检查文件", "Download the template": "下载模板", "Accepted column names": "可识别的列名",
    "Column": "列", "Required": "必填", "Also accepted": "也接受",
    "Item scores: one column per rubric item, named as in the rubric (e.g. 选题, 原因分析); or only the total.":
        "分项得分：每个评分项一列，列名与评分表一致（如 选题、原因分析）；也可只给总分。",
    "Imported: {created} new, {updated} updated.": "已导入：新增 {created} 条，更新 {updated} 条。",
    "Header found in row {row}.": "表头在第 {row} 行。",
    "Rows read: {rows}; valid: {valid}; with errors: {bad}.": "读取 {rows} 行；有效 {valid} 行；有错误 {bad} 行。",
    "Columns ignored:": "未使用的列：", "The file has errors. Nothing has been imported.": "文件有错误，未导入任何数据。",
    "Rows with errors were skipped.": "有错误的行已跳过。", "Download the error list (.xlsx)": "下载错误清单（.xlsx）",
    "Row": "行", "Value": "内容", "Reason": "原因", "Import {n} rows": "导入 {n} 行",
    "Import only the {n} valid rows (skip the rows with errors)": "只导入 {n} 条有效行（跳过有错误的行）",
    "Back to import": "返回导入", "Nobody presenting": "当前无人发表",
    "Panel": "评委组", "Tablets online": "在线平板", "Queued sheets": "待上传评分", "Offline": "离线",
    "Grade list": "成果等级名单", "Print": "打印", "Run": "计算", "Engine version": "引擎版本", "Approved": "批准",
    "Rank": "名次", "Final": "最终得分", "Grade": "等级", "recommended onward": "推荐上报",
    "Printing a sheet issues new personal login links for everyone on it: the links on earlier printouts stop "
    "working. To replace one lost card, use “Issue new link” on the people page.":
        "打印登录单会为单上每个人生成新的个人登录链接，之前打印的二维码随即失效。只补发一张卡片，请在“人员与登录链接”页点“重新生成链接”。",
    "Judges, chief judge and host": "评委、评审组长和主持人", "Screens": "大屏",
    "Print judges' QR sheet": "打印评委二维码单", "Print screen QR sheet": "打印大屏二维码单",
    "QR login sheet": "二维码登录单",
    "A4 portrait; each card is a personal login: hand it to that person only.": "A4 纵向；每张卡片是个人登录凭证，只交给本人。",
    "Judges' login codes": "评委登录二维码", "Screen login codes": "大屏登录二维码",
    "Scan with the tablet camera to log in. Do not share.": "用平板相机扫码登录，请勿转给他人。",
    "Nobody to print for this venue yet: assign judges on the assignment page.": "本分会场还没有人员：请先在分配页加入评委。",
    "Grading run": "成绩计算", "initial": "初审",
    "Input digest (SHA-256 of the score rows used)": "输入摘要（所用评分记录的 SHA-256）",
    "Outdated since": "过期时间",
    "scores were corrected after approval; compute and approve a new preview.": "定稿后有成绩更正；请重新计算并批准新的预览。",
    "Approve and finalize this grade list": "批准并定稿此成绩名单", "Only the owner can approve a preview.": "只有管理员可以批准定稿。",
    "Recompute from the score log and compare": "从评分日志重新计算并核对", "Download": "下载",
    "Grade list (.xlsx)": "等级名单（.xlsx）", "Grade list (.csv)": "等级名单（.csv）", "Venue score sheets": "分会场评分表",
    "Per-judge sheets": "评委评分表", "Recommendation summary (推荐汇总表)": "推荐汇总表",
    "Printable grade list": "可打印的等级名单", "Warnings": "提示", "Grades": "等级",
    "{n} grades differ from the plain trimmed mean.": "与简单去掉最高最低分平均相比，有 {n} 个成果等级不同。",
    "{n} entries need a boundary review.": "{n} 个成果处于等级边界，需要复核。", "Boundary review": "边界复核",
    "Entries whose grade the data cannot settle (probability of their grade below 80%). Review these before "
    "approving.": "这些成果的等级数据不能确定（所得等级的概率低于 80%）。定稿前请复核。",
    "Probability": "概率", "Other grades": "其他等级", "Changes compared with the plain trimmed mean": "与简单去高去低平均相比的变化",
    "Trimmed mean": "去高去低平均", "Calibrated": "校正后", "Every entry, with its explanation": "全部成果及计算说明",
    "On-site raw": "发表原始平均", "On-site trimmed": "发表去高去低", "On-site corrected": "发表校正后",
    "recommended": "推荐", "Judge and venue diagnostics": "评委与分会场诊断", "Flags": "提示项",
    "step:raw mean of valid scores": "有效分平均", "step:robust / reliability weighting": "稳健/可靠性加权",
    "step:judge severity correction": "评委宽严校正", "step:judge scale correction": "评委尺度校正",
    "step:venue-wide shift correction (anchors)": "分会场整体校正（锚定成果）",
    "step:moderation against initial review": "以初审为标尺的调节",
    "step:drop highest/lowest (trimmed mean)": "去掉最高分和最低分", "step:median instead of mean": "取中位数",
    "Stages and weights": "评审阶段与权重",
    "final = weight × initial-review score + weight × on-site score (both out of 100)": "最终得分 = 权重 × 初审得分 + 权重 × 发表得分（均为百分制）",
    "Grade rule": "等级规则", "Grade labels": "等级名称", "Shares, best first": "各等级比例（从高到低）",
    "Thresholds, best first": "分数线（从高到低）", "Grade of entries that did not present": "未参加发表的成果等级",
    "Recommend onward: top K per group": "推荐上报：每组前 K 名", "Calibration method": "校正方法",
    "Judges also recuse from entries of their own recommending unit": "评委也回避本推荐单位的成果",
    "Save the grade rule": "保存等级规则", "Venues and schedule": "分会场与日程", "Location": "地点",
    "Starts at": "开始时间", "Presentation min": "发表（分钟）", "Q&A min": "答辩（分钟）", "Add venue": "添加分会场",
    "Running order is set on the assignment page.": "发表顺序在分配页设置。", "Topic types and rubrics": "课题类型与评分表",
    "total": "合计", "frozen: scoring has started": "已锁定：评分已开始", "Key": "代码", "Item": "评分项",
    "Maximum": "满分", "Step": "步长",
    "Edit items, one per line: key | Chinese label | English label | maximum | step":
        "编辑评分项，每行一项：代码 | 中文名称 | 英文名称 | 满分 | 步长",
    "Save rubric": "保存评分表", "Chinese name": "中文名称", "English name": "英文名称", "Add topic type": "添加课题类型",
    "New venue": "新分会场", "Recompute check": "重算核对",
    "Reproduced: recomputing from the score log gives the same digest and the same grades.":
        "核对通过：从评分日志重新计算，得到相同的摘要和相同的等级。",
    "Not reproduced:": "核对未通过：",
    "The score log has changed since this run (later corrections): this grade list is outdated.":
        "此次计算之后评分日志有变化（后来的更正）：这份成绩名单已过期。",
    "Stored digest": "存档摘要", "Recomputed digest": "重算摘要", "Current log digest": "当前日志摘要",
    "Back": "返回", "panel median": "评委组中位数", "Updated": "更新于", "Connection problem; retrying": "连接有问题，正在重试",
    "Required column {column} not found (accepted headers: {aliases}).": "缺少必填列“{column}”（可用列名：{aliases}）。",
    "No header row found in the first {n} rows (expected headers such as {expected}).":
        "前 {n} 行中找不到表头（应有 {expected} 等列）。",
    "The file holds no rows.": "文件是空的。", "The file cannot be read: {detail}": "无法读取文件：{detail}",
    "The file has more than {n} rows.": "文件超过 {n} 行。", "Value missing.": "缺少内容。",
    "Duplicate: also in row {other}.": "重复：与第 {other} 行相同。",
    "Unknown topic type “{value}”; expected one of {expected}.": "未知的课题类型“{value}”；应为 {expected} 之一。",
    "Unknown circle type “{value}”; expected one of {expected}.": "未知的小组类型“{value}”；应为 {expected} 之一。",
    "Unknown venue “{value}”; expected one of {expected}.": "未知的分会场“{value}”；应为 {expected} 之一。",
    "Not a whole number: “{value}”.": "不是整数：“{value}”。", "Not a number: “{value}”.": "不是数字：“{value}”。",
    "Unknown role “{value}”; expected one of {expected}.": "未知的角色“{value}”；应为 {expected} 之一。",
    "No entry with code “{value}” in this contest.": "本赛事没有编号为“{value}”的成果。",
    "No judge or reviewer named “{value}” in this contest.": "本赛事没有名为“{value}”的评委或专家。",
    "Several people are named “{value}”; add the 工作单位 column to tell them apart.": "有多人名为“{value}”；请加“工作单位”列区分。",
    "Score {value} is above the item maximum {max}.": "得分 {value} 超过该项满分 {max}。",
    "Score {value} is negative.": "得分 {value} 为负数。",
    "Score {value} is not a multiple of the step {step}.": "得分 {value} 不是步长 {step} 的整数倍。",
    "Neither a total nor item scores given.": "既没有总分也没有分项得分。",
    "Total {value} differs from the sum of the item scores {sum}.": "总分 {value} 与分项得分之和 {sum} 不一致。",
    "Item {item} missing (the rubric of this entry's topic type needs it).": "缺少评分项“{item}”（该成果课题类型的评分表需要）。",
    "The reviewer has a conflict of interest with this entry ({reason}).": "该专家需回避此成果（{reason}）。",
    "{value} is not on the panel of this entry's venue.": "{value} 不在该成果所在分会场的评委组中。",
    "Too long ({n} characters; at most {max}).": "内容太长（{n} 个字符，最多 {max} 个）。",
    "The topic type of this entry has no rubric for the {stage} stage.": "该成果的课题类型没有{stage}阶段的评分表。",
    "Row {row} · {column}: {message}": "第 {row} 行 · {column}：{message}",
    "Written: {created} new, {updated} updated.": "已写入：新增 {created} 条，更新 {updated} 条。",
    "Dry run: the file is clean; nothing was written.": "试运行：文件无误；未写入任何数据。",
    "Judge severity (points, + = lenient)": "评委宽严（分，正数为偏宽）", "On-site scores per venue": "各分会场发表得分分布",
    "Agreement per venue (ICC, Kendall's W)": "各分会场评委一致性（ICC、Kendall W）",
    "Entries": "成果", "Judges and reviewers": "评委与专家", "Scores": "评分",
    # grading report warnings and flags (judging/staff/grading.py WARNING_CODES / FLAG_KINDS)
    'list:separator': '、',
    'warning:no_onsite_scores': '尚无发表评分：所有成果均按未参加发表处理。',
    'warning:onsite_without_initial': '{n} 个成果有发表评分但没有初审成绩，按未参加发表处理：{codes}',
    'warning:probabilities_unavailable': '无法计算等级概率（等级结果本身不受影响，但无法标出需复核的临界成果）。如需排查，请将计算引擎的报告转给技术支持：{detail}',
    'warning:diagnostics_unavailable': '无法生成评委与分会场诊断（等级结果本身不受影响）。如需排查，请将计算引擎的报告转给技术支持：{detail}',
    'warning:unlinked_groups': '发表评分分成 {n} 个互不相连的分会场组（组与组之间没有共同评委或锚定成果）：{groups}。组内评委的宽严可以相互校正；组与组之间的比较则假定各组评委平均宽严一致（或依靠锚定成果、以初审为标尺的调节）。',
    'warning:initial_unlinked_groups': '初审评分分成 {n} 个互不相连的组（组与组之间没有共同的初审专家）。组内专家的宽严可以相互校正；组与组之间的比较则假定各组专家平均宽严一致。',
    'warning:judge_z_random_assignment': '按评委标准化的前提是每位评委所评成果的水平构成相同（随机分配）。如果成果是按课题类型或地区分给评委的，成果之间真实的水平差异会被抹平。',
    'warning:venue_z_random_assignment': '按分会场标准化的前提是各分会场成果的水平构成相同（随机分配）。如果成果是按课题类型或地区分到各分会场的，分会场之间真实的水平差异会被抹平。',
    'warning:moderation_needs_two_venues': '以初审为标尺的调节至少需要两个分会场，本次未做调节。',
    'warning:moderation_yardstick_not_rising': '在各分会场内，初审成绩并不随发表得分升高，不能作为标尺，本次未做调节。',
    'flag:erratic': '评分离散',
    'flag:compressing': '打分区间偏窄',
    'flag:expanding': '打分区间偏宽',
    'flag:disagrees': '排序与他人不一致',
    'flag:deviation_cases': '个别评分偏离较大',
    'flag:conflict_of_interest': '可能存在利益关联',
    'flag:unlinked': '分会场未连通',
    'flag:low_reliability': '评分可靠性偏低',
    'flag-detail:erratic': '评分围绕评委组共识的离散程度是一般评委的 {value:.1f} 倍。模型已降低这些评分的权重；请核对评分表是否录入有误。',
    'flag-detail:compressing': '打分区间比评委组整体窄（斜率 {value:.2f}）：好坏成果得分相近。尺度校正已作处理；可在评委会前说明会上提醒。',
    'flag-detail:expanding': '打分拉开的幅度比评委组整体大（斜率 {value:.2f}）。尺度校正已作处理。',
    'flag-detail:disagrees': '对成果的排序与本组其他评委不同（与其他评委平均分的 Spearman 相关系数为 {value:.2f}）。',
    'flag-detail:deviation_cases': '有 {n} 个评分与评委组共识的偏差超过判定阈值（参照 ISU 的“评判偏差”做法），涉及成果：{codes}',
    'flag-detail:conflict_of_interest': '对申报有关联关系的成果，评分比预期高 {value:.2f} 分（与该评委所评其他成果相比）。',
    'flag-detail:unlinked': '与其他分会场没有共同评委或锚定成果：该分会场与其他分会场的比较只能依靠假设。',
    'flag-detail:low_reliability': '该分会场评委组平均分的可靠性不高（ICC(2,k) = {value:.2f}，低于 0.75）：评委对成果排序分歧较大，处于等级边界附近的成果值得复核。',
    # recompute-check mismatches (judging/staff/grading.py MISMATCH_CODES)
    'mismatch:engine_version': '引擎版本不同：存档为 {stored}，当前为 {current}',
    'mismatch:input_digest': '输入摘要不一致',
    'mismatch:missing_in_stored': '{code}：存档的计算结果中没有该成果',
    'mismatch:grade_differs': '{code}：存档为 {stored_grade} {stored_score}，重算为 {grade} {score}',
    'mismatch:not_recomputed': '成果 ID {entry}：存档中有，重算结果中没有',
    'mismatch:review_base_differs': '{code}：复核决定针对的计算等级为 {reviewed_from}，重算为 {grade}',
    # boundary review (judging/staff/grading.py review_boundary, templates/staff/run.html)
    "{n} boundary entries still need a review decision before approval.": "尚有 {n} 个临界成果未作复核决定，暂不能批准。",
    "For each, keep the computed grade or give another with a reason; the decision is kept with the grade list and in the audit log.":
        "请逐一决定：维持计算等级，或说明理由后改为其他等级；决定随成绩名单保存，并记入审计日志。",
    "Computed grade": "计算等级", "Review decision": "复核决定", "Kept: {grade}": "维持：{grade}",
    "Changed to {grade}": "改为：{grade}", "Reason (required for a change)": "理由（改变等级时必填）",
    "Record decision": "记录决定", "reviewed": "复核调整", "msg:reviewed": "已记录复核决定。",
    "also an initial-review expert": "同时为初审专家",
    # grading refusals (judging/staff/grading.py GradingError)
    "unknown calibration method {method}": "未知的校正方法 {method}",
    "the scoring engine refused the scores: {detail}": "计算引擎无法处理这些评分（技术细节：{detail}）。",
    "there is no grade run {run}": "没有编号为 {run} 的计算。", "no such grade run": "没有这个计算。",
    "run {run} is not a preview (it was approved, or is outdated); only a preview can be reviewed":
        "计算 {run} 已不是预览（已定稿或已过期）：只有预览可以复核。",
    "run {run} is not a preview (it was approved, or is outdated); only a preview can be approved":
        "计算 {run} 已不是预览（已定稿或已过期）：只有预览可以批准。",
    "entry {entry} is not on this run's boundary-review list": "成果 {entry} 不在本次计算的临界复核清单中。",
    "“{grade}” is not a grade of this run's rule; choose one of {grades}": "“{grade}”不是本次等级规则中的等级；可选：{grades}",
    "a changed grade needs a reason (at least two characters); it is kept with the list":
        "改变等级需要填写理由（至少两个字），理由随成绩名单保存。",
    "{n} boundary entries have no review decision yet: {codes}": "尚有 {n} 个临界成果未作复核决定：{codes}",
    "scores changed since this preview was computed; compute a new preview first":
        "计算预览之后评分已有变动：请先重新计算预览。",
    "Initial-review progress: {done} of {total} assigned reviews submitted.": "初审进度：已提交 {done} / 应提交 {total} 份。",
    "Submitted": "已提交", "Still to do": "未完成",
    "Issue login links for all reviewers": "为全部初审专家生成登录链接",
    "Issue new links for every reviewer? Their earlier reviewer links stop working and anyone logged in with one is logged out (an expert who also sits on a panel keeps the venue card).":
        "为全部初审专家生成新链接？此前的初审链接随即失效，已用旧链接登录的专家会被退出登录（同时担任现场评委的专家，其分会场登录卡仍然有效）。",
    "the reason is too long (at most {max} characters)": "理由太长（最多 {max} 个字）。",
    "boundary-review decisions changed since this page was loaded; reload it and check them":
        "打开本页后临界复核决定已有变动：请刷新页面并核对后再批准。",
    "Opens a list of personal links and QR codes to send to each reviewer; their earlier links stop working.":
        "打开每位专家的个人链接和二维码清单，分别发送给各位专家；此前的链接随即失效。",
    "Initial-review experts' login links": "初审专家登录链接",
    "Open this personal link (or scan the code) in any browser to review the assigned reports. Send it to this expert only.":
        "用任意浏览器打开此个人链接（或扫码），即可评审分配给您的成果报告。仅发送给本人。",
    "Nobody to list yet: add initial-review experts (import them, or assign reviewers) first.":
        "暂无专家：请先导入初审专家或分配初审任务。",
    "grade changed in the boundary review (the reason is in the Excel grade list)": "等级经临界复核调整（理由见 Excel 成绩名单）",
    # refused staff forms (judging/errors.py Refusal: SetupError, AssignmentError; judging/staff/web.py _bad;
    # templates/staff/error.html). Parameters are filled in after translation; field names are msgids too.
    "Could not save": "无法保存",
    "Nothing was saved. Go back, correct the form and send it again.": "未保存任何内容。请返回，修改表单后重新提交。",
    "the contest needs a name": "请填写赛事名称。",
    "the year must be between 2000 and 2100": "年份必须在 2000 到 2100 之间。",
    "the key must be lower-case letters, digits and _": "代码只能由小写字母、数字和 _ 组成，并以字母开头。",
    "topic type {key} exists already": "课题类型代码 {key} 已存在。",
    "a stage weight must be between 0 and 1": "阶段权重必须在 0 到 1 之间。",
    "no such rubric": "没有这个评分表。", "no such rubric in this contest": "本赛事没有这个评分表。",
    "this rubric is frozen: scoring has started": "该评分表已锁定：评分已开始。",
    "a rubric needs at least one item": "评分表至少需要一个评分项。",
    "duplicate item key {key}": "评分项代码 {key} 重复。", "every item needs a Chinese label": "每个评分项都需要中文名称。",
    "maximum and step must be positive": "满分和步长必须是正数（满分不超过 1000）。",
    "Each line needs key | label | English label | max | step: “{line}”":
        "每行应为：代码 | 中文名称 | 英文名称 | 满分 | 步长。这一行不符合：“{line}”",
    "a venue needs a code and a name": "分会场需要编号和名称。", "venue code {code} is taken": "分会场编号 {code} 已被使用。",
    "no such venue": "没有这个分会场。",
    # deleting a venue or topic type made by mistake (judging/staff/setup.py; templates/staff/setup.html)
    "Delete": "删除", "msg:deleted": "已删除。", "no such topic type": "没有这个课题类型。",
    "venue {code} still has entries assigned ({n}): move them to another venue on the assignment page, then delete "
    "it":
        "分会场 {code} 还有 {n} 个成果：请先在分配页把它们移到其他分会场，再删除。",
    "venue {code} still has judges on its panel ({n}): remove them on the assignment page, then delete it":
        "分会场 {code} 的评委组还有 {n} 位评委：请先在分配页移除，再删除。",
    "venue {code} has been used live (its events, help calls or tablets are on record, and that record is kept), so "
    "it cannot be deleted: rename it and use it instead":
        "分会场 {code} 已在现场使用过（已有事件、求助或平板记录，这些记录必须保留），因此不能删除；可以改名后继续使用。",
    "topic type {key} is still the topic type of entries ({n}): import them again with the right topic type, then "
    "delete it":
        "课题类型 {key} 下还有 {n} 个成果：请先用正确的课题类型重新导入这些成果，再删除。",
    "topic type {key} has been scored against its rubrics, and those scores are kept: it cannot be deleted":
        "课题类型 {key} 已按其评分表评过分，这些成绩必须保留，因此不能删除。",
    "Delete venue {code} {name}? Its host and screen logins stop working. A venue that has entries, judges or a "
    "record of use is not deleted.":
        "删除分会场 {code} {name}？其主持人和大屏的登录链接将失效。已有成果、评委或使用记录的分会场不会被删除。",
    "Only a venue nothing uses yet can be deleted (no entries, no judges, never used live). Move its entries and "
    "judges on the assignment page first.":
        "只有尚未使用的分会场可以删除（没有成果、没有评委、未在现场使用过）。请先在分配页移走其成果和评委。",
    "Delete topic type {name} with its rubrics? A topic type that entries have or that has been scored is not "
    "deleted.":
        "删除课题类型“{name}”及其评分表？已有成果属于该类型或已按其评分的课题类型不会被删除。",
    "minutes must be a whole number between 0 and 180": "分钟数必须是 0 到 180 之间的整数。",
    "minutes must be between 0 and 180": "分钟数必须在 0 到 180 之间。",
    "start time must look like 2024-05-20T08:30": "开始时间的格式应为 2024-05-20T08:30。",
    "the grade rule kind must be quota or threshold": "等级规则只能是“按发表成果比例（名额）”或“按分数线”。",
    "the grade rule needs at least one grade label": "等级规则至少需要一个等级名称。",
    "give one share per grade label ({labels} labels, {given} shares)":
        "每个等级名称需要一个比例（现有 {labels} 个等级名称、{given} 个比例）。",
    "the shares must not be negative and must add up to at most 1 (they add up to {total})":
        "各等级比例不能为负数，合计不能超过 1（现在合计 {total}）。",
    "give one threshold per grade label ({labels} labels, {given} thresholds)":
        "每个等级名称需要一条分数线（现有 {labels} 个等级名称、{given} 条分数线）。",
    "the thresholds must go down from the best grade to the last": "分数线必须从最高等级到最低等级依次降低。",
    "the grade rule is not valid: {detail}": "等级规则无效：{detail}",
    "{what} must be a number": "{what}必须是数字。", "{what} must be a whole number.": "{what}必须是整数。",
    "{what} must be numbers separated by commas": "{what}必须是用逗号分隔的数字。", "{what} is required.": "请填写{what}。",
    "venue or person is not in this contest": "分会场或人员不属于本赛事。",
    "the chief judge must be on the venue's panel": "评审组长必须是该分会场评委组的成员。",
    "this person is not on the venue's panel": "此人不在该分会场评委组中。",
    # reasons the system itself writes into the audit log (shown through the catalog on the audit page)
    "QR sheet": "打印二维码登录单", "reviewer links": "初审专家登录链接", "first accepted score": "收到第一份有效评分",
    "score log changed after approval": "定稿后评分日志有变化",
    # the audit log's actions (templates/staff/audit.html: "audit:<action>")
    "audit:account.disable": "停用工作人员账号",
    "audit:account.enable": "启用工作人员账号",
    "audit:account.invite": "邀请工作人员",
    "audit:account.setup": "设置账号密码",
    "audit:account.setup_link": "生成设置链接",
    "audit:assign.entries_random": "随机分配成果到分会场",
    "audit:assign.entry": "调整成果的分会场",
    "audit:assign.panel_add": "加入评委组",
    "audit:assign.panel_remove": "移出评委组",
    "audit:assign.panel_chief": "设为评审组长",
    "audit:assign.reviewers": "分配初审专家",
    "audit:auth.login": "登录",
    "audit:conflict.add": "添加回避关系",
    "audit:conflict.auto": "自动识别回避关系",
    "audit:conflict.delete": "解除回避关系",
    "audit:contest.create": "新建赛事",
    "audit:entry.absent": "标记缺席",
    "audit:entry.withdrawn": "标记退赛",
    "audit:entry.scheduled": "恢复待发表",
    "audit:grades.finalize": "批准并定稿成绩名单",
    "audit:grades.outdated": "定稿名单已过期",
    "audit:grades.preview": "计算成绩预览",
    "audit:grades.review": "临界复核决定",
    "audit:grades.verify": "重新计算核对",
    "audit:help.resolve": "处理求助",
    "audit:import.entries": "导入成果",
    "audit:import.judges": "导入评委与专家",
    "audit:import.reviews": "导入评分",
    "audit:qr.sheet": "打印二维码登录单",
    "audit:result.release": "发布成绩",
    "audit:result.correct": "更正成绩",
    "audit:rubric.freeze": "评分表锁定",
    "audit:setup.grade_rule": "修改等级规则",
    "audit:setup.rubric": "修改评分表",
    "audit:setup.stage_weights": "修改阶段权重",
    "audit:setup.topic_type": "添加课题类型",
    "audit:setup.topic_type_delete": "删除课题类型",
    "audit:setup.venue": "保存分会场",
    "audit:setup.venue_delete": "删除分会场",
    "audit:sheet.lock": "锁定评分表",
    "audit:sheet.reopen": "重新开放评分表",
    "audit:timer.start": "开始计时",
    "audit:timer.pause": "暂停计时",
    "audit:timer.reset": "计时归零",
    "audit:token.issue": "生成登录链接",
    "audit:token.reissue": "重新生成登录链接",
    "audit:token.revoke": "撤销登录",
    "audit:venue.end_presentation": "结束发表",
    "audit:venue.on_stage": "切换发表成果",
    # why an uploaded file cannot be read (judging/staff/importing.py ImportFileError)
    "the text is neither UTF-8 nor GB18030: save it again as UTF-8 CSV or as .xlsx":
        "文本既不是 UTF-8 也不是 GB18030 编码：请另存为 UTF-8 编码的 CSV 或 .xlsx 文件。",
    "old .xls files are not supported: save the file as .xlsx or .csv": "不支持旧版 .xls 文件：请另存为 .xlsx 或 .csv。",
    "expected a .xlsx or .csv file": "请上传 .xlsx 或 .csv 文件。",
    "not a readable .xlsx file: open it in Excel or WPS and save it again as .xlsx":
        "不是可读取的 .xlsx 文件：请用 Excel 或 WPS 打开后重新另存为 .xlsx。",
    "the file is empty": "文件是空的。",
    "The running order is a number from 1 to 999, not “{value}”.": "发表顺序应为 1 到 999 之间的数字，而不是“{value}”。",
    "there is no import of {kind}: import entries, judges or reviews": "没有“{kind}”这种导入：可以导入成果、评委或评分。",
    "This upload has expired; upload the file again.": "上传的文件已过期，请重新上传。",
    "Total {value} is above the rubric's full marks {max}.": "总分 {value} 超过评分表满分 {max}。",
    "Say why the conflict of interest is removed; the reason is kept in the audit log.":
        "请说明解除回避关系的原因；原因会记入审计日志。",
    "This file was already imported. To import it again, upload it again.": "该文件已经导入。如需再次导入，请重新上传。",
    "grades are given per topic type, per venue or over all entries": "等级只能按课题类型、按分会场或全部成果统一评定。",
    "the highest and lowest marks can be dropped from 3 to 30 judges on (got {n})":
        "去掉最高分和最低分的起始评委人数应在 3 到 30 之间（填写的是 {n}）。",
    "the number recommended onward cannot be negative": "推荐上报名额不能为负数。",
    "the floor is a score from 0 to 100 (got {floor})": "最低分数线应在 0 到 100 之间（填写的是 {floor}）。",
    "the topic type needs a Chinese name": "课题类型需要填写中文名称。",
    "the running order is a number from 1 to 999": "发表顺序应为 1 到 999 之间的数字。",
    "; ": "；", ". ": "。", "Venue name": "分会场名称",
    "Open on each big screen of this venue (scan, or type the address): display only, no scores before release.":
        "在本分会场的每块大屏上打开（扫码或输入地址）：只用于显示，成绩发布前不显示分数。",
    "a venue code has at most 20 characters and a venue name at most 100": "分会场编号不超过 20 个字符，名称不超过 100 个字。",
    "the stage weights must add up to 1 (they add up to {total})": "各阶段权重之和必须为 1（当前为 {total}）。",
    "{label}: maximum and step have at most 2 decimals": "{label}：满分和步长最多保留两位小数。",
    "{label}: the maximum {max} must be a whole number of steps of {step}":
        "{label}：满分 {max} 必须是步长 {step} 的整数倍。",
    "unknown action {action}": "未知操作：{action}",
    "the contest has no venues": "本赛事还没有分会场：请先在赛事设置中添加。",
    "no such entry in this contest": "本赛事没有这个成果。", "no such venue in this contest": "本赛事没有这个分会场。",
    "each entry needs at least 2 reviewers": "每个成果至少需要 2 位初审专家。",
    "only {have} reviewers; {need} are needed per entry": "只有 {have} 位初审专家，而每个成果需要 {need} 位。",
    "no such person in this contest": "本赛事没有这个人员。",
    "a conflict needs an entry or an organization": "回避需要指定成果或单位。", "a conflict needs a reason": "请填写回避理由。",
    "stage must be initial or onsite": "阶段只能是初审（initial）或现场发表（onsite）。",
    "Unknown calibration method.": "未知的校正方法。", "draws must be between 50 and 5000": "模拟次数必须在 50 到 5000 之间。",
    "no such contest": "没有这个赛事。", "the contest has no entries": "本赛事还没有成果。",
    "year": "年份", "venue": "分会场", "entry": "成果", "person": "人员", "running order": "发表顺序", "seed": "随机种子",
    "reviewers per entry": "每个成果的专家数", "draws": "模拟次数", "weight": "权重", "max": "满分", "step": "步长",
    "shares": "各等级比例", "thresholds": "分数线", "floor": "最低分", "recommend_top_k": "推荐上报名额",
    "trim_from": "去掉最高分和最低分的评委人数",
}

EN: dict[str, str] = {
    "msg:saved": "Saved.", "msg:deleted": "Deleted.", "msg:assigned": "Assigned.", "msg:finalized": "Finalized: the grade list is stamped.",
    "method:calibrated": "Bayesian calibration (recommended)", "method:additive": "Additive severity model",
    "method:trimmed": "Trimmed mean (drop highest and lowest)", "method:mean": "Mean", "method:median": "Median",
    "method:judge_z": "Per-judge standardization", "method:venue_z": "Per-venue standardization",
    "status:preview": "preview", "status:final": "final", "status:outdated": "outdated",
    "source:auto": "automatic", "source:declared": "declared by the judge", "source:staff": "added by staff",
    "step:raw mean of valid scores": "raw mean of valid scores",
    "step:robust / reliability weighting": "robust / reliability weighting",
    "step:judge severity correction": "judge severity correction", "step:judge scale correction": "judge scale correction",
    "step:venue-wide shift correction (anchors)": "venue-wide shift correction (anchors)",
    "step:moderation against initial review": "moderation against initial review",
    "step:drop highest/lowest (trimmed mean)": "drop highest/lowest (trimmed mean)",
    "step:median instead of mean": "median instead of mean",
    # grading report warnings and flags (judging/staff/grading.py WARNING_CODES / FLAG_KINDS)
    'list:separator': ', ',
    'warning:no_onsite_scores': 'No on-site scores yet: every entry counts as not presented.',
    'warning:onsite_without_initial': '{n} entries have on-site scores but no initial-review scores, so they count as not presented: {codes}',
    'warning:probabilities_unavailable': 'Grade probabilities could not be computed (the grades themselves are not affected, but entries near a grade boundary cannot be flagged for review). To investigate, pass the engine\'s report to support: {detail}',
    'warning:diagnostics_unavailable': 'Judge and venue diagnostics could not be computed (the grades themselves are not affected). To investigate, pass the engine\'s report to support: {detail}',
    'warning:unlinked_groups': "The on-site scores form {n} unlinked groups of venues (no shared judge or anchor entry between them): {groups}. Within a group, judges are corrected against each other; across groups the comparison assumes the groups' judges are equally severe on average (or relies on anchor entries or moderation against the initial review).",
    'warning:initial_unlinked_groups': "The initial-review scores form {n} unlinked groups (no reviewer shared between them). Within a group, reviewers are corrected against each other; across groups the comparison assumes the groups' reviewers are equally severe on average.",
    'warning:judge_z_random_assignment': 'Per-judge standardization assumes every judge saw the same mix of entry quality (random assignment). If entries were routed to judges by topic type or region, real quality differences are removed.',
    'warning:venue_z_random_assignment': 'Per-venue standardization assumes every venue saw the same mix of entry quality (random assignment). If entries were routed to venues by topic type or region, real quality differences are removed.',
    'warning:moderation_needs_two_venues': 'Moderation against the initial review needs at least two venues; it was not applied.',
    'warning:moderation_yardstick_not_rising': 'Within venues, the initial-review scores do not rise with the on-site scores, so they cannot serve as a yardstick; moderation was not applied.',
    'flag:erratic': 'erratic scoring',
    'flag:compressing': 'compressed scale',
    'flag:expanding': 'stretched scale',
    'flag:disagrees': 'ranks differently',
    'flag:deviation_cases': 'large deviations',
    'flag:conflict_of_interest': 'possible conflict of interest',
    'flag:unlinked': 'venue not linked',
    'flag:low_reliability': 'low reliability',
    'flag-detail:erratic': "Scores scatter {value:.1f} times as much around the panel consensus as a typical judge's. The model already gives these scores less weight; check that the sheets were entered correctly.",
    'flag-detail:compressing': "Uses a narrower part of the scale than the panel (slope {value:.2f}): strong and weak entries get similar marks. The scale correction handles it; worth mentioning at the judges' briefing.",
    'flag-detail:expanding': 'Spreads marks more widely than the panel (slope {value:.2f}). The scale correction handles it.',
    'flag-detail:disagrees': "Ranks entries differently from the rest of the panel (Spearman {value:.2f} with the others' mean).",
    'flag-detail:deviation_cases': '{n} marks lie more than the case threshold away from the panel consensus (ISU-style cases of evaluation): {codes}',
    'flag-detail:conflict_of_interest': "Scores entries with a declared relationship {value:.2f} points higher than expected, relative to the judge's other entries.",
    'flag-detail:unlinked': 'Shares no judge or anchor entry with any other venue: its scores are compared with other venues only by assumption.',
    'flag-detail:low_reliability': 'The panel mean is not very reliable (ICC(2,k) = {value:.2f} < 0.75): the judges disagree on the order of entries; grades near a boundary here deserve a second look.',
    # recompute-check mismatches (judging/staff/grading.py MISMATCH_CODES)
    'mismatch:engine_version': 'engine version {stored} != {current}',
    'mismatch:input_digest': 'input digest differs',
    'mismatch:missing_in_stored': '{code}: missing in the stored run',
    'mismatch:grade_differs': '{code}: stored {stored_grade} {stored_score}, recomputed {grade} {score}',
    'mismatch:not_recomputed': 'entry {entry}: stored but not recomputed',
    'mismatch:review_base_differs': '{code}: reviewed from {reviewed_from}, recomputed {grade}',
    "msg:reviewed": "Review decision recorded.",
    "account:active": "Active", "account:pending": "Awaiting setup", "account:disabled": "Disabled",
    "audit:account.disable": "Staff account disabled",
    "audit:account.enable": "Staff account enabled",
    "audit:account.invite": "Staff member invited",
    "audit:account.setup": "Account password set",
    "audit:account.setup_link": "Setup link issued",
    "audit:assign.entries_random": "Entries assigned to venues at random",
    "audit:assign.entry": "Entry placed in a venue",
    "audit:assign.panel_add": "Added to a panel",
    "audit:assign.panel_remove": "Removed from a panel",
    "audit:assign.panel_chief": "Made chief judge",
    "audit:assign.reviewers": "Reviewers assigned",
    "audit:auth.login": "Logged in",
    "audit:conflict.add": "Conflict of interest added",
    "audit:conflict.auto": "Conflicts of interest detected",
    "audit:conflict.delete": "Conflict of interest removed",
    "audit:contest.create": "Contest created",
    "audit:entry.absent": "Marked absent",
    "audit:entry.withdrawn": "Marked withdrawn",
    "audit:entry.scheduled": "Back to scheduled",
    "audit:grades.finalize": "Grade list approved",
    "audit:grades.outdated": "Final grade list outdated",
    "audit:grades.preview": "Grading preview computed",
    "audit:grades.review": "Boundary review decision",
    "audit:grades.verify": "Recompute check",
    "audit:help.resolve": "Help call handled",
    "audit:import.entries": "Entries imported",
    "audit:import.judges": "Judges imported",
    "audit:import.reviews": "Scores imported",
    "audit:qr.sheet": "QR login sheet printed",
    "audit:result.release": "Result released",
    "audit:result.correct": "Result corrected",
    "audit:rubric.freeze": "Rubric frozen",
    "audit:setup.grade_rule": "Grade rule changed",
    "audit:setup.rubric": "Rubric changed",
    "audit:setup.stage_weights": "Stage weights changed",
    "audit:setup.topic_type": "Topic type added",
    "audit:setup.topic_type_delete": "Topic type deleted",
    "audit:setup.venue": "Venue saved",
    "audit:setup.venue_delete": "Venue deleted",
    "audit:sheet.lock": "Sheets locked",
    "audit:sheet.reopen": "Sheet reopened",
    "audit:timer.start": "Timer started",
    "audit:timer.pause": "Timer paused",
    "audit:timer.reset": "Timer reset",
    "audit:token.issue": "Login link issued",
    "audit:token.reissue": "Login link reissued",
    "audit:token.revoke": "Access revoked",
    "audit:venue.end_presentation": "Presentation ended",
    "audit:venue.on_stage": "Entry put on stage",
    # refused staff forms: field names shown inside a message
    "recommend_top_k": "the number recommended onward", "trim_from": "the judge count for dropping highest and lowest",
}


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write(root: Path) -> None:
    for locale, table in (("zh_Hans", ZH), ("en", EN)):
        lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', f'"Language: {locale}\\n"', ""]
        keys = ZH.keys() if locale == "zh_Hans" else EN.keys()
        for k in keys:
            lines += [f"msgid {_q(k)}", f"msgstr {_q(table[k])}", ""]
        path = root / locale / "LC_MESSAGES" / "staff.po"
        path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    write(Path(__file__).resolve().parent.parent / "locale")
